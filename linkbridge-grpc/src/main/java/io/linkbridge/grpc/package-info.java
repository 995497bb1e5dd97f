/**
 * The gRPC transport of a broker. Add {@code io.linkbridge:linkbridge-grpc} and set
 * {@code NodeBuilder.address(...)}; the broker then serves the {@code linkbridge.v1} API there.
 */
package io.linkbridge.grpc;
