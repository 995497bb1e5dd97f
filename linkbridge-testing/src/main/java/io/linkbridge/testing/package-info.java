/**
 * The Link Bridge test kit, for tests of applications on Link Bridge and of consensus engines behind
 * its SPI (add {@code io.linkbridge:linkbridge-testing} with test scope):
 * <ul>
 *   <li>{@link io.linkbridge.testing.TestCluster}: real brokers on loopback in one JVM, each with
 *       free ports and its own data directory; {@code kill}, {@code restart}, {@code partition} and
 *       {@code heal} (through the Raft transport's fault seam), {@code ensureSame} at the end;
 *   <li>{@link io.linkbridge.testing.BrokerProcess}: a broker in a JVM of its own, to SIGKILL
 *       ({@code kill}) and SIGSTOP ({@code pause}, {@code resume});
 *   <li>{@link io.linkbridge.testing.NodeLeakCheck}: a JUnit 5 extension (like grpc-java's
 *       GrpcCleanupRule) that fails a test leaving nodes running or their threads alive;
 *   <li>{@link io.linkbridge.testing.FakeClock}: a clock a test moves by hand;
 *   <li>{@link io.linkbridge.testing.AbstractConsensusContractTest}: the consensus SPI's contract, for
 *       engine implementations to extend.
 * </ul>
 * Example:
 * <pre>{@code
 * @ExtendWith(NodeLeakCheck.class)
 * class FailoverTest {
 *   @TempDir Path dir;
 *
 *   @Test void leaderCutOff_nothingLost() {
 *     try (TestCluster cluster = new TestCluster(dir, 3).start()) {
 *       cluster.partition(cluster.leaderIndex().orElseThrow());
 *       // ... writes through the others ...
 *       cluster.heal();
 *       cluster.ensureSame();
 *     }
 *   }
 * }
 * }</pre>
 * Not thread-safe unless a class says so.
 */
package io.linkbridge.testing;
