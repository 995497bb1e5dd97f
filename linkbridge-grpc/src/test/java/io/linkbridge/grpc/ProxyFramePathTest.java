package io.linkbridge.grpc;

/**
 * Every promise {@link ProxyTest} checks on the broker's API address, checked again on its
 * dedicated proxy port, whose calls take the frame path (HTTP/2 frames passed on, not two grpc-java
 * calls): the same instances, headers, trailers, details, deadlines, cancellation, streams, drain,
 * retry, flow control and errors.
 */
class ProxyFramePathTest extends ProxyTest {
  @Override
  boolean onProxyPort() {
    return true;
  }
}
