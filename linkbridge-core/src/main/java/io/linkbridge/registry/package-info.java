/**
 * The replicated registry: {@link io.linkbridge.registry.ClusterState}, the commands that change it,
 * the deterministic {@link io.linkbridge.registry.RegistryStateMachine} every broker applies them
 * with, and the {@link io.linkbridge.registry.RegistryEvent}s each change produces.
 */
package io.linkbridge.registry;
