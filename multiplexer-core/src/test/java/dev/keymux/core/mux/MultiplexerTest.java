package dev.keymux.core.mux;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.policy.Policy;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Routing rules of the multiplexer, with scripted backends (a unit test of this one class). */
class MultiplexerTest {
  static final KeyBlob A = new KeyBlob(new byte[] {0, 0, 0, 1, 'a'});
  static final KeyBlob B = new KeyBlob(new byte[] {0, 0, 0, 1, 'b'});
  static final KeyBlob C = new KeyBlob(new byte[] {0, 0, 0, 1, 'c'});
  final Session session = Session.local();

  /** A backend with fixed keys that signs with its own name, optionally slow or broken. */
  static class Scripted implements Backend {
    final String name;
    final List<KeyBlob> keys;
    volatile long delayMillis;
    volatile boolean failList;
    volatile boolean failSign;
    final AtomicInteger signs = new AtomicInteger();
    final CountDownLatch released = new CountDownLatch(1);

    Scripted(String name, KeyBlob... keys) {
      this.name = name;
      this.keys = List.of(keys);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public List<Identity> list(Session s) throws AgentException {
      if (delayMillis > 0) {
        try {
          Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
          released.countDown();
          Thread.currentThread().interrupt();
          throw AgentException.failed("interrupted");
        }
      }
      if (failList) {
        throw new IllegalStateException("backend exploded");
      }
      return keys.stream().map(k -> new Identity(k, name + "-comment", "")).toList();
    }

    @Override
    public byte[] sign(Session s, KeyBlob key, byte[] data, int flags) throws AgentException {
      signs.incrementAndGet();
      if (failSign) {
        throw AgentException.failed(name + " token removed");
      }
      return name.getBytes();
    }
  }

  /** Answers from memory when {@code atOnce} is set, noting which thread each call ran on. */
  static final class InMemory extends Scripted {
    volatile boolean atOnce = true;
    volatile boolean explodeAtOnce;
    volatile String listedOn;
    volatile String signedOn;

    InMemory(String name, KeyBlob... keys) {
      super(name, keys);
    }

    @Override
    public Optional<List<Identity>> listAtOnce(Session s) throws AgentException {
      if (explodeAtOnce) {
        throw new IllegalStateException("cache corrupted");
      }
      return atOnce ? Optional.of(noted(super.list(s), true)) : Optional.empty();
    }

    @Override
    public List<Identity> list(Session s) throws AgentException {
      return noted(super.list(s), true);
    }

    @Override
    public Optional<byte[]> signAtOnce(Session s, KeyBlob key, byte[] data, int flags) throws AgentException {
      return atOnce ? Optional.of(noted(sign(s, key, data, flags), false)) : Optional.empty();
    }

    @Override
    public byte[] sign(Session s, KeyBlob key, byte[] data, int flags) throws AgentException {
      return noted(super.sign(s, key, data, flags), false);
    }

    private <T> T noted(T result, boolean listed) {
      if (listed) {
        listedOn = Thread.currentThread().getName();
      } else {
        signedOn = Thread.currentThread().getName();
      }
      return result;
    }
  }

  @Test
  void aBackendThatAnswersAtOnceIsAskedOnTheRequestsOwnThreadAndTheOthersOnThePool() throws Exception {
    InMemory memory = new InMemory("memory", A);
    InMemory token = new InMemory("token", B);
    token.atOnce = false;
    Multiplexer m = mux(memory, token);
    String me = Thread.currentThread().getName();
    assertEquals(List.of(A, B), m.list(session).stream().map(Identity::key).toList());
    assertEquals(me, memory.listedOn);
    assertTrue(token.listedOn.startsWith("keymux-backend-"), token.listedOn);
    assertArrayEquals("memory".getBytes(), m.sign(session, A, new byte[] {1}, 0));
    assertEquals(me, memory.signedOn);
    assertArrayEquals("token".getBytes(), m.sign(session, B, new byte[] {1}, 0));
    assertTrue(token.signedOn.startsWith("keymux-backend-"), token.signedOn);
  }

  @Test
  void aBackendWhoseAtOnceAnswerFailsIsSkippedOrRefusedLikeAnyOther() throws Exception {
    InMemory broken = new InMemory("broken", A);
    broken.explodeAtOnce = true;
    assertEquals(List.of(B), mux(broken, new Scripted("ok", B)).list(session).stream().map(Identity::key).toList());
    InMemory refusing = new InMemory("refusing", A);
    refusing.failSign = true;
    Multiplexer m = mux(refusing, new Scripted("second", A));
    assertArrayEquals("second".getBytes(), m.sign(session, A, new byte[] {1}, 0), "falls through to the next holder");
  }

  private Multiplexer mux(Scripted... backends) {
    return new Multiplexer(List.of(backends), null, Duration.ofMillis(300), Duration.ofSeconds(2));
  }

  @Test
  void listMergesInOrderAndTheFirstBackendWinsADuplicate() {
    Scripted one = new Scripted("one", A, B);
    Scripted two = new Scripted("two", B, C);
    List<Identity> ids = mux(one, two).list(session);
    assertEquals(List.of(A, B, C), ids.stream().map(Identity::key).toList());
    assertEquals(List.of("one", "one", "two"), ids.stream().map(Identity::backend).toList());
  }

  @Test
  void aSlowBackendIsSkippedAfterTheTimeout() throws Exception {
    Scripted slow = new Scripted("slow", A);
    slow.delayMillis = 60_000;
    Scripted fast = new Scripted("fast", B);
    long t0 = System.nanoTime();
    List<Identity> ids = mux(slow, fast).list(session);
    long tookMillis = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(List.of(B), ids.stream().map(Identity::key).toList());
    assertTrue(tookMillis < 3000, "list returned after " + tookMillis + " ms");
    assertTrue(slow.released.await(5, java.util.concurrent.TimeUnit.SECONDS), "the slow call was cancelled");
  }

  @Test
  void aFailingBackendIsSkipped() {
    Scripted broken = new Scripted("broken", A);
    broken.failList = true;
    assertEquals(List.of(B), mux(broken, new Scripted("ok", B)).list(session).stream().map(Identity::key).toList());
  }

  @Test
  void signGoesToTheFirstHolderAndFallsThroughOnFailure() throws Exception {
    Scripted one = new Scripted("one", A);
    Scripted two = new Scripted("two", A, B);
    Multiplexer m = mux(one, two);
    assertArrayEquals("one".getBytes(), m.sign(session, A, new byte[] {1}, 0));
    assertArrayEquals("two".getBytes(), m.sign(session, B, new byte[] {1}, 0));
    one.failSign = true;
    assertArrayEquals("two".getBytes(), m.sign(session, A, new byte[] {1}, 0));
    assertThrows(AgentException.class, () -> m.sign(session, C, new byte[] {1}, 0));
  }

  @Test
  void aRefusedSignatureIsNotAskedTwiceOfTheSameBackend() {
    Scripted one = new Scripted("one", A);
    one.failSign = true;
    Multiplexer m = mux(one);
    m.list(session); // remembers one as A's owner
    assertThrows(AgentException.class, () -> m.sign(session, A, new byte[] {1}, 0));
    assertEquals(1, one.signs.get(), "one request, one attempt (a confirm prompt must not appear twice)");
  }

  @Test
  void addWithoutATargetFails() {
    assertThrows(AgentException.class, () -> mux(new Scripted("x")).add(session, null));
  }

  @Test
  void removeAllWhenNoBackendSupportsItFails() {
    AgentException e = assertThrows(AgentException.class, () -> mux(new Scripted("x")).removeAll(session));
    assertTrue(e.getMessage().contains("no backend"));
  }

  /** A policy that prefers the last holder and, on a scoped socket, reaches only {@code reach}. */
  static Policy preferLast(java.util.Set<String> reach, List<String> decisions) {
    return sess -> new Policy.View() {
      @Override
      public java.util.Set<String> backends() {
        return reach;
      }

      @Override
      public boolean mayManage() {
        return reach == null;
      }

      @Override
      public List<Identity> offer(List<Policy.KeyHolding> keys) {
        return keys.stream().map(k -> k.holders().get(k.holders().size() - 1)).toList();
      }

      @Override
      public Policy.SignDecision authorize(Policy.KeyHolding key) {
        List<String> order = new java.util.ArrayList<>(key.holders().stream().map(Identity::backend).toList());
        java.util.Collections.reverse(order);
        return new Policy.SignDecision() {
          @Override
          public List<String> backends() {
            return order;
          }

          @Override
          public void completed(String backend, String failure) {
            decisions.add(backend + "/" + failure);
          }
        };
      }
    };
  }

  @Test
  void thePolicyChoosesWhichHolderSignsAndHearsTheOutcome() throws Exception {
    Scripted one = new Scripted("one", A);
    Scripted two = new Scripted("two", A);
    List<String> outcomes = new java.util.ArrayList<>();
    Multiplexer m = new Multiplexer(List.of(one, two), null, null, Duration.ofMillis(300), Duration.ofSeconds(2),
        () -> preferLast(null, outcomes));
    assertEquals(List.of("two"), m.list(session).stream().map(Identity::backend).toList());
    assertArrayEquals("two".getBytes(), m.sign(session, A, new byte[] {1}, 0));
    assertEquals(0, one.signs.get(), "the preferred holder signed; the other was not asked");
    two.failSign = true;
    assertArrayEquals("one".getBytes(), m.sign(session, A, new byte[] {1}, 0), "the next holder in policy order");
    assertEquals(List.of("two/null", "one/null"), outcomes);
  }

  @Test
  void aViewThatReachesSomeBackendsNeverAsksTheOthersAndManagesNothing() throws Exception {
    Scripted one = new Scripted("one", A);
    Scripted two = new Scripted("two", B);
    two.failList = true; // would be logged if it were asked
    AtomicInteger asked = new AtomicInteger();
    Scripted counting = new Scripted("three", C) {
      @Override
      public List<Identity> list(Session s) throws AgentException {
        asked.incrementAndGet();
        return super.list(s);
      }
    };
    Multiplexer m = new Multiplexer(List.of(one, two, counting), one, null, Duration.ofMillis(300), Duration.ofSeconds(2),
        () -> preferLast(java.util.Set.of("one"), new java.util.ArrayList<>()));
    assertEquals(List.of(A), m.list(session).stream().map(Identity::key).toList());
    assertEquals(0, asked.get());
    AgentException e = assertThrows(AgentException.class, () -> m.sign(session, C, new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("no backend holds"), e.getMessage());
    assertThrows(AgentException.class, () -> m.removeAll(session));
    assertThrows(AgentException.class, () -> m.extension(session, "custom@example.com", new byte[0]));
  }

  /** An upstream that answers one vendor extension with its own name, and may be down. */
  static final class Extending extends Scripted {
    volatile boolean down;

    Extending(String name) {
      super(name);
    }

    @Override
    public dev.keymux.core.agent.Health health() {
      return down ? dev.keymux.core.agent.Health.down("socket gone") : dev.keymux.core.agent.Health.ok();
    }

    @Override
    public dev.keymux.core.wire.AgentResponse extension(Session s, String ext, byte[] contents) throws AgentException {
      if (!ext.equals("vendor@example.com")) {
        throw AgentException.unsupported(ext);
      }
      if (down) {
        throw AgentException.failed(name + " is down");
      }
      return new dev.keymux.core.wire.AgentResponse.ExtensionResponse(ext, name.getBytes());
    }
  }

  private static String answer(Multiplexer m) throws AgentException {
    var r = (dev.keymux.core.wire.AgentResponse.ExtensionResponse) m.extension(Session.local(), "vendor@example.com", new byte[0]);
    return new String(r.contents());
  }

  @Test
  void unknownExtensionsGoToTheFirstHealthyUpstreamOrToTheDesignatedOne() throws Exception {
    Scripted plain = new Scripted("plain", A); // supports no extension
    Extending first = new Extending("first");
    Extending second = new Extending("second");
    Multiplexer auto = new Multiplexer(List.of(plain, first, second), null, Duration.ofMillis(300), Duration.ofSeconds(2));
    assertEquals("first", answer(auto));
    first.down = true;
    assertEquals("second", answer(auto), "a dead upstream does not hide the live ones behind it");

    first.down = false;
    Multiplexer designated = new Multiplexer(List.of(plain, first, second), null, second, Duration.ofMillis(300),
        Duration.ofSeconds(2), () -> Policy.ALLOW_ALL);
    assertEquals("second", answer(designated), "keymux.extension-target decides");
    AgentException e = assertThrows(AgentException.class,
        () -> designated.extension(Session.local(), "other@example.com", new byte[0]));
    assertEquals(AgentException.Kind.UNSUPPORTED, e.kind(), "the target's own answer stands; no fallback to others");
  }
}
