package dev.keymux.config.policy;

import dev.keymux.config.policy.PolicyRule.Action;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.Peer;
import dev.keymux.core.policy.Policy;
import dev.keymux.core.prompt.ConfirmPrompt;
import dev.keymux.core.prompt.Requester;
import dev.keymux.core.prompt.SignNotifier;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy written in the configuration: for each connection, the rules of its socket and then
 * the global rules, tried in order for every key; the first rule that matches decides, and a key
 * no rule matches gets the default action. Keys are offered in the order of the rules that let
 * them through, so the key a rule picks for a destination is the one {@code ssh} tries first.
 */
public final class RulePolicy implements Policy {
  private static final Logger log = LoggerFactory.getLogger(RulePolicy.class);
  /** The name of the main socket (keymux.socket); every other name is a scoped socket. */
  public static final String MAIN_SOCKET = Peer.MAIN_SOCKET;

  /** The outcome for one key: the deciding rule (null for the default) and the action. */
  public record Verdict(PolicyRule rule, int index, Action action, List<String> trace) {
    public String describe() {
      return rule == null ? "no rule matches: default action" : rule.label();
    }
  }

  private final PolicySettings settings;
  private final Map<String, SocketSettings> sockets = new LinkedHashMap<>();
  private final Map<String, List<PolicyRule>> rulesBySocket = new ConcurrentHashMap<>();
  private final KnownHosts knownHosts;
  private final ConfirmPrompt confirm;
  private final AuditLog audit;
  private final SignNotifier notifier;
  private final Clock clock;
  private final Path proc;
  /** Confirmations remembered: socket + uid + client program + key → until when. Shared across reloads. */
  private final Map<String, Instant> remembered;

  public RulePolicy(PolicySettings settings, ConfirmPrompt confirm, AuditLog audit, Clock clock, Path proc,
      Map<String, Instant> remembered) {
    this(settings, confirm, audit, SignNotifier.OFF, clock, proc, remembered);
  }

  /** @param notifier told of every signature made (keymux.notify) */
  public RulePolicy(PolicySettings settings, ConfirmPrompt confirm, AuditLog audit, SignNotifier notifier, Clock clock,
      Path proc, Map<String, Instant> remembered) {
    this.settings = settings;
    settings.sockets().forEach(s -> sockets.put(s.name(), s));
    this.knownHosts = new KnownHosts(settings.knownHosts());
    this.confirm = confirm;
    this.audit = audit;
    this.notifier = notifier;
    this.clock = clock;
    this.proc = proc;
    this.remembered = remembered;
  }

  public PolicySettings settings() {
    return settings;
  }

  public KnownHosts knownHosts() {
    return knownHosts;
  }

  /** The rules a connection on {@code socket} is judged by: the socket's own first, then the global ones. */
  List<PolicyRule> rulesFor(String socket) {
    return rulesBySocket.computeIfAbsent(socket, name -> {
      List<PolicyRule> out = new ArrayList<>();
      SocketSettings s = sockets.get(name);
      if (s != null) {
        out.addAll(s.rules());
      }
      out.addAll(settings.rules());
      return List.copyOf(out);
    });
  }

  /** Decides for one key; {@code explain} collects why each earlier rule did not match. */
  public Verdict decide(Facts facts, boolean explain) {
    List<String> trace = explain ? new ArrayList<>() : List.of();
    List<PolicyRule> rules = rulesFor(facts.socket());
    for (int i = 0; i < rules.size(); i++) {
      PolicyRule rule = rules.get(i);
      String why = rule.match().mismatch(facts, explain);
      if (why == null) {
        return new Verdict(rule, i, socketAction(facts.socket(), rule.action()), trace);
      }
      if (explain) {
        trace.add(rule.label() + ": not matched: " + why);
      }
    }
    return new Verdict(null, rules.size(), socketAction(facts.socket(), settings.defaultAction()), trace);
  }

  /** A socket with {@code confirm = true} turns every allow into confirm. */
  private Action socketAction(String socket, Action action) {
    SocketSettings s = sockets.get(socket);
    return s != null && s.confirm() && action == Action.ALLOW ? Action.CONFIRM : action;
  }

  /** Whether the socket's {@code keys} filter lets the key through at all. */
  boolean admitted(String socket, KeyFacts key) {
    SocketSettings s = sockets.get(socket);
    return s == null || s.admits(key);
  }

  @Override
  public View view(Session session) {
    String socket = session.peer().socketName();
    if (!socket.equals(MAIN_SOCKET) && !sockets.containsKey(socket)) {
      // A scoped socket still served after a reload removed its definition: it sees nothing
      // until keymux restarts, rather than falling back to the main socket's wider view.
      return CLOSED;
    }
    return new ConnectionView(session);
  }

  private static final View CLOSED = new View() {
    @Override
    public Set<String> backends() {
      return Set.of();
    }

    @Override
    public boolean mayManage() {
      return false;
    }

    @Override
    public List<Identity> offer(List<KeyHolding> keys) {
      return List.of();
    }

    @Override
    public SignDecision authorize(KeyHolding key) throws AgentException {
      throw AgentException.failed("this socket is no longer configured");
    }
  };

  /** The facts of a connection that do not depend on the key, for {@code keymux policy explain}. */
  public Facts facts(String socket, int uid, ClientInfo client, KeyBlob hostKey, boolean forwarded, KeyFacts key) {
    return new Facts(socket, uid, () -> client, hostKey, forwarded, knownHosts, key, ZonedDateTime.now(clock));
  }

  private final class ConnectionView implements View {
    private final Session session;
    private final SocketSettings socket;
    private final Facts base;

    ConnectionView(Session session) {
      this.session = session;
      this.socket = sockets.get(session.peer().socketName());
      this.base = new Facts(session.peer().socketName(), session.peer().uid(), clientOf(session),
          session.destinationHostKey(), session.forwarded(), knownHosts, null, ZonedDateTime.now(clock));
    }

    @Override
    public Set<String> backends() {
      return socket == null ? null : new HashSet<>(socket.backends());
    }

    @Override
    public boolean mayManage() {
      return socket == null;
    }

    private KeyFacts keyFacts(KeyHolding k) {
      List<String> comments = new ArrayList<>();
      List<String> backends = new ArrayList<>();
      for (Identity id : k.holders()) {
        comments.add(id.comment());
        backends.add(id.backend());
      }
      return KeyFacts.of(k.key(), comments, backends);
    }

    @Override
    public List<Identity> offer(List<KeyHolding> keys) {
      record Offered(Identity id, int rank, int position) {}
      List<PolicyRule> rules = rulesFor(base.socket());
      List<Offered> offered = new ArrayList<>();
      for (int i = 0; i < keys.size(); i++) {
        KeyHolding k = keys.get(i);
        KeyFacts kf = keyFacts(k);
        if (!admitted(base.socket(), kf)) {
          continue;
        }
        Verdict v = decide(base.withKey(kf), false);
        if (v.action() == Action.DENY || v.action() == Action.HIDE) {
          continue;
        }
        // Only a rule that names the destination pulls its keys forward (in rule order), so
        // `ssh host` tries the key meant for that host first; everything else keeps backend order.
        boolean forDestination = v.rule() != null && !v.rule().match().destinations().isEmpty();
        int rank = forDestination ? v.index() : rules.size();
        offered.add(new Offered(winner(k, v.rule()), rank, i));
      }
      offered.sort(Comparator.comparingInt(Offered::rank).thenComparingInt(Offered::position));
      return offered.stream().map(Offered::id).toList();
    }

    @Override
    public SignDecision authorize(KeyHolding key) throws AgentException {
      KeyFacts kf = keyFacts(key);
      if (!admitted(base.socket(), kf)) {
        audit.record(session, base, kf, null, "deny", "not among socket " + base.socket() + "'s keys", null);
        throw AgentException.failed("socket " + base.socket() + " does not offer key " + kf.sha256());
      }
      Verdict v = decide(base.withKey(kf), false);
      String decided = v.action().name().toLowerCase(java.util.Locale.ROOT);
      if (v.action() == Action.DENY) {
        audit.record(session, base, kf, null, "deny", v.describe(), null);
        throw AgentException.failed("policy denies key " + kf.sha256() + ": " + v.describe());
      }
      if (v.action() == Action.CONFIRM && !confirmed(kf, v.rule())) {
        audit.record(session, base, kf, null, "refused", v.describe(), null);
        throw AgentException.failed("use of key " + kf.sha256() + " was not confirmed");
      }
      List<String> order = holderOrder(key, v.rule());
      return new SignDecision() {
        @Override
        public List<String> backends() {
          return order;
        }

        @Override
        public void completed(String backend, String failure) {
          audit.record(session, base, kf, backend, decided, v.describe(), failure);
          if (failure == null && backend != null) {
            notifier.signed(Requester.keyLabel(kf.comments(), kf.sha256()), requester(session));
          }
        }
      };
    }

    private boolean confirmed(KeyFacts kf, PolicyRule rule) {
      ClientInfo client = base.client().get();
      // Per socket too: /usr/bin/ssh in a container is not the host's /usr/bin/ssh.
      String who = base.socket() + ":" + base.uid() + ":" + client.exe() + ":" + kf.sha256();
      Instant now = clock.instant();
      Instant until = remembered.get(who);
      if (until != null && now.isBefore(until)) {
        return true;
      }
      String question = requester(session).confirmQuestion(kf.comments(), kf.sha256());
      boolean yes = confirm.confirm(session, question);
      if (yes && rule != null && !rule.remember().isZero()) {
        remembered.put(who, now.plus(rule.remember()));
      }
      return yes;
    }
  }

  /** The backends to sign with, preferred first (the rule's {@code prefer}, then backend order). */
  private static List<String> holderOrder(KeyHolding key, PolicyRule rule) {
    List<String> holders = key.holders().stream().map(Identity::backend).toList();
    if (rule == null || rule.prefer().isEmpty()) {
      return holders;
    }
    List<String> order = new ArrayList<>();
    rule.prefer().stream().filter(holders::contains).forEach(order::add);
    holders.stream().filter(h -> !order.contains(h)).forEach(order::add);
    return order;
  }

  private static Identity winner(KeyHolding key, PolicyRule rule) {
    String first = holderOrder(key, rule).get(0);
    return key.holders().stream().filter(id -> id.backend().equals(first)).findFirst().orElse(key.holders().get(0));
  }

  private final Object clientKey = new Object();

  /**
   * Who is asking on {@code session}, for confirm prompts and notifications: the client as rules
   * see it, the destination named through known_hosts (hashed entries cannot be named).
   */
  public Requester requester(Session session) {
    return Requester.of(session, clientOf(session).get().describe(),
        host -> knownHosts.namesOf(host).stream().filter(n -> !n.equals(KnownHosts.HASHED)).toList());
  }

  /** The client process, read from /proc once per connection and only if a rule needs it. */
  private Supplier<ClientInfo> clientOf(Session session) {
    return () -> session.attachment(clientKey, k -> new CachedClient(ClientInfo.read(proc, session.peer().pid()))).info;
  }

  private record CachedClient(ClientInfo info) implements AutoCloseable {
    @Override
    public void close() {}
  }
}
