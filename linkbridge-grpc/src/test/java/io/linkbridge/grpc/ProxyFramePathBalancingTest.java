package io.linkbridge.grpc;

/**
 * {@link ProxyBalancingTest} on the broker's dedicated proxy port, whose calls take the frame path:
 * the same limits, stall bound, least-outstanding choice, ejection and counts.
 */
class ProxyFramePathBalancingTest extends ProxyBalancingTest {
  @Override
  boolean onProxyPort() {
    return true;
  }
}
