package dev.keymux.core.agent;

/** A backend's state as `keymux list` and the logs show it. */
public record Health(boolean up, String detail) {
  public static Health ok() {
    return new Health(true, "ok");
  }

  public static Health down(String why) {
    return new Health(false, why);
  }
}
