/**
 * The Atomix Raft consensus provider. Add {@code io.linkbridge:linkbridge-raft} to the class path and
 * {@code LinkBridge.node()} finds it; nothing here needs to be called directly.
 */
package io.linkbridge.raft;
