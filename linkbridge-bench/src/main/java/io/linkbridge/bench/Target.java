package io.linkbridge.bench;

import java.nio.file.Path;

/** A 3-member system under load: started fresh in a scratch directory, written to, stopped. */
interface Target extends AutoCloseable {

  String name();

  /** Starts three members on loopback with their data in {@code dir}; returns once writes succeed. */
  void start(Path dir) throws Exception;

  /** One acknowledged, durable write of {@code value} under {@code id}, sent through member {@code member % 3}. */
  void write(int member, String id, byte[] value) throws Exception;

  /** Stops every member at once. */
  @Override
  void close();
}
