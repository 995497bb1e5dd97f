package io.linkbridge;

/** Whether an instance takes new calls. */
public enum InstanceState {
  /** Healthy and taking calls. */
  UP,
  /** Announced its shutdown: finishing calls in flight, taking no new ones. */
  DRAINING
}
