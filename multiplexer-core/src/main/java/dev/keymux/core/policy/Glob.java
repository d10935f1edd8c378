package dev.keymux.core.policy;

/**
 * Shell-style patterns as OpenSSH uses them in known_hosts and ssh_config: {@code *} matches any
 * run of characters (slashes included), {@code ?} exactly one. Nothing else is special. Used by
 * policy rules, known_hosts and the user patterns of destination-restricted keys (match_pattern).
 */
public final class Glob {
  private Glob() {}

  public static boolean isPattern(String s) {
    return s.indexOf('*') >= 0 || s.indexOf('?') >= 0;
  }

  public static boolean matches(String pattern, String text, boolean ignoreCase) {
    if (ignoreCase) {
      pattern = pattern.toLowerCase(java.util.Locale.ROOT);
      text = text.toLowerCase(java.util.Locale.ROOT);
    }
    // Iterative match with one backtrack point for the last '*': linear in practice, never exponential.
    int p = 0;
    int t = 0;
    int star = -1;
    int mark = 0;
    while (t < text.length()) {
      if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == text.charAt(t))) {
        p++;
        t++;
      } else if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        mark = t;
      } else if (star >= 0) {
        p = star + 1;
        t = ++mark;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }
}
