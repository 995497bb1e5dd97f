/**
 * What a broker's replicated registry looks like to the code that reads it: a {@link
 * io.linkbridge.registry.ClusterState} at one revision, and the {@link io.linkbridge.registry.RegistryEvent}
 * each change produces. The commands of the Raft log and the state machine that applies them are
 * internal: no public API submits a command to a broker.
 */
package io.linkbridge.registry;
