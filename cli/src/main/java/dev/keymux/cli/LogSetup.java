package dev.keymux.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * keymux's logging, set up in code: one line per event on stderr,
 * {@code HH:mm:ss.SSS LEVEL [thread] Logger: message}, at the level of
 * {@code -Dkeymux.log.level} (INFO unless {@code serve -d} made it DEBUG).
 *
 * <p>Logback finds this through {@code META-INF/services} before it looks for a logback.xml. An
 * XML configuration costs a start some 250 classes and a parser (a third of keymux's start-up
 * before this class); this one costs about thirty. {@code -Dlogback.configurationFile=FILE}
 * still wins: then this steps aside and Logback reads the file.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
  static final String LEVEL_PROPERTY = "keymux.log.level";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    LineLayout layout = new LineLayout();
    layout.setContext(context);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(System.getProperty(LEVEL_PROPERTY, "INFO"), Level.INFO));
    root.addAppender(stderr);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** The line keymux logs: the same as the pattern {@code %d{HH:mm:ss.SSS} %-5level [%thread] %logger{0}: %msg%n}. */
  static final class LineLayout extends LayoutBase<ILoggingEvent> {
    private final ZoneId zone = ZoneId.systemDefault();

    @Override
    public String doLayout(ILoggingEvent event) {
      StringBuilder line = new StringBuilder(128);
      LocalTime t = LocalTime.ofInstant(Instant.ofEpochMilli(event.getTimeStamp()), zone);
      pad(line, t.getHour(), 2).append(':');
      pad(line, t.getMinute(), 2).append(':');
      pad(line, t.getSecond(), 2).append('.');
      pad(line, t.getNano() / 1_000_000, 3).append(' ');
      String level = event.getLevel().toString();
      line.append(level).append(" ".repeat(Math.max(0, 5 - level.length())));
      line.append(" [").append(event.getThreadName()).append("] ");
      String logger = event.getLoggerName();
      line.append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(": ");
      line.append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        line.append(ThrowableProxyUtil.asString(thrown)).append(CoreConstants.LINE_SEPARATOR);
      }
      return line.toString();
    }

    private static StringBuilder pad(StringBuilder to, int value, int width) {
      String digits = Integer.toString(value);
      for (int i = digits.length(); i < width; i++) {
        to.append('0');
      }
      return to.append(digits);
    }
  }
}
