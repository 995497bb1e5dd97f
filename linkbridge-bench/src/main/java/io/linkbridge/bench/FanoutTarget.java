package io.linkbridge.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * A 3-member system with many watchers spread over its members, for the time from one announcement
 * to the last watcher that sees it.
 */
interface FanoutTarget extends AutoCloseable {

  String name();

  /** What one announcement is in this system, in a few words, for the report. */
  String announcement();

  /** Starts three members in {@code dir} and {@code watchers} watchers spread over them, each reporting to {@code sink}. */
  void start(Path dir, int watchers, EventSink sink) throws Exception;

  /** Prepares what {@link #announce} will announce (Link Bridge: registers the instances and their agents). */
  void prepare(List<String> keys) throws Exception;

  /** Announces {@code key}; every watcher reports it to the sink. */
  void announce(String key) throws Exception;

  /** Waits until the system is quiet again after {@code key} (watchers re-armed, follow-up events delivered). */
  void settle(String key) throws Exception;

  @Override
  void close();
}
