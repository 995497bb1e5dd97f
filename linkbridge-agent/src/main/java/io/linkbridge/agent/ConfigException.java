package io.linkbridge.agent;

import io.linkbridge.LinkBridgeException;

/**
 * A configuration file that cannot be used. The message names the file, the line and column, the
 * key, the value and what is allowed, for example
 * {@code agent.yaml:9:13: agent.instances[0].port must be in 1..65535, was 70000}.
 */
public final class ConfigException extends LinkBridgeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }
}
