package io.linkbridge.spi;

import io.linkbridge.LinkBridgeClient;

/** Creates {@link LinkBridgeClient}s. Found with {@link java.util.ServiceLoader}. Thread-safe. */
public interface ClientProvider {

  /** A client for the brokers of {@code spec}; it may connect lazily. */
  LinkBridgeClient connect(ClientSpec spec);
}
