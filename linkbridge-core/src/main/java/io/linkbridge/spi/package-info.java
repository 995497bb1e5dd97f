/**
 * Extension points: the consensus engine behind the replicated registry. Implementations are found
 * with {@link java.util.ServiceLoader}; {@code linkbridge-raft} provides the Atomix Raft one. No
 * third-party type appears in these signatures, so another engine can slot in and pass the same
 * contract tests.
 */
package io.linkbridge.spi;
