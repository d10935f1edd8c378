package dev.keymux.cli;

import java.time.Duration;

/**
 * OpenSSH's time format (sshd_config(5) "TIME FORMATS"): a number of seconds, or a sequence of
 * number+unit with units s, m, h, d, w — e.g. {@code 90}, {@code 1h30m}, {@code 2d}.
 */
public final class SshTime {
  private SshTime() {}

  public static Duration parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty time");
    }
    long total = 0;
    long number = -1;
    for (char c : text.toLowerCase().toCharArray()) {
      if (Character.isDigit(c)) {
        number = (number < 0 ? 0 : number) * 10 + (c - '0');
        if (number > 100L * 365 * 24 * 3600) {
          throw new IllegalArgumentException("time too large: " + text);
        }
        continue;
      }
      if (number < 0) {
        throw new IllegalArgumentException("invalid time '" + text + "': unit without a number");
      }
      long unit = switch (c) {
        case 's' -> 1;
        case 'm' -> 60;
        case 'h' -> 3600;
        case 'd' -> 86400;
        case 'w' -> 7 * 86400;
        default -> throw new IllegalArgumentException("invalid time '" + text + "': unknown unit '" + c + "'");
      };
      total += number * unit;
      number = -1;
    }
    if (number >= 0) {
      total += number;
    }
    return Duration.ofSeconds(total);
  }

  /** A duration as people write it in the config and in OpenSSH time format: 90s → "1m30s", 8h → "8h". */
  public static String format(Duration d) {
    long s = d.toSeconds();
    if (s == 0) {
      return d.isZero() ? "0" : d.toMillis() + "ms";
    }
    StringBuilder out = new StringBuilder();
    long[] units = {86400, 3600, 60, 1};
    String[] names = {"d", "h", "m", "s"};
    for (int i = 0; i < units.length; i++) {
      if (s >= units[i]) {
        out.append(s / units[i]).append(names[i]);
        s %= units[i];
      }
    }
    return out.toString();
  }
}
