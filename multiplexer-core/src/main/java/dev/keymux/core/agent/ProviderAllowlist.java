package dev.keymux.core.agent;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which PKCS#11 libraries a client may ask keymux to load ({@code ssh-add -s}), as OpenSSH's
 * {@code ssh-agent -P}: comma-separated patterns ({@code *} and {@code ?} wildcards, which match
 * across {@code /}), checked against the library's real path. Loading an arbitrary library on a
 * client's request runs its code in the agent — the lesson of CVE-2023-38408.
 */
public final class ProviderAllowlist {
  private final List<String> patterns;
  private final List<Pattern> compiled = new ArrayList<>();

  public ProviderAllowlist(List<String> patterns) {
    this.patterns = List.copyOf(patterns);
    for (String p : patterns) {
      for (String one : p.split(",")) {
        if (!one.isBlank()) {
          compiled.add(glob(one.trim()));
        }
      }
    }
  }

  private static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char c : g.toCharArray()) {
      switch (c) {
        case '*' -> re.append(".*");
        case '?' -> re.append('.');
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString());
  }

  /** OpenSSH's ssh-agent default when no {@code -P} is given. */
  public static final List<String> OPENSSH_DEFAULT = List.of("/usr/lib*/*", "/usr/local/lib*/*");

  /** The real path of PKCS#11 library {@code library} if it exists and is allowed. */
  public Path check(String library) throws AgentException {
    return check(library, "PKCS#11 provider");
  }

  /** The real path of {@code library} if it exists and is allowed; {@code kind} names it in errors. */
  public Path check(String library, String kind) throws AgentException {
    Path real;
    try {
      real = Path.of(library).toRealPath();
    } catch (IOException | RuntimeException e) {
      throw AgentException.failed(kind + " " + library + " does not exist");
    }
    String s = real.toString();
    for (Pattern p : compiled) {
      if (p.matcher(s).matches()) {
        return real;
      }
    }
    throw AgentException.failed(kind + " " + real + " is not in the allowlist " + patterns
        + " (keymux agent -P, or keymux.pkcs11.allowed-modules)");
  }

  public List<String> patterns() {
    return patterns;
  }
}
