package io.linkbridge.agent;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Agent;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one instance's registration in step with the instance's own {@code grpc.health.v1} status:
 * SERVING registers it UP; NOT_SERVING (or UNKNOWN) drains it, so watchers are told with the
 * alternatives; no answer for {@code unreachableAfter} checks in a row deregisters it. Each
 * {@link #check()} asks once and then moves the registration toward what it saw, so a change the
 * brokers could not take is retried at the next check; a refusal of the registry that no retry can
 * fix (another agent owns the instance id, a field breaks a rule) is handed to the sidecar, which
 * stops. Called from one thread at a time.
 */
final class HealthFollower {
  private static final Logger log = LoggerFactory.getLogger(HealthFollower.class);

  private final SidecarConfig.Checked checked;
  private final Agent agent;
  private final SidecarConfig config;
  private final ManagedChannel channel;
  private final String name;
  private final Consumer<RegistrationRejectedException> refused;
  private int failures;
  private String lastFailure;

  /** {@code refused} is told when the registry refuses the instance for good (its id is another agent's, ...). */
  HealthFollower(SidecarConfig.Checked checked, Agent agent, SidecarConfig config, Consumer<RegistrationRejectedException> refused) {
    this.checked = checked;
    this.refused = refused;
    this.agent = agent;
    this.config = config;
    this.name = checked.instance().service() + "/" + checked.instance().id();
    this.channel = NettyChannelBuilder.forAddress(checked.healthAddress().host(), checked.healthAddress().port()).usePlaintext().build();
  }

  /** Asks the instance once and moves its registration toward the answer. */
  void check() {
    InstanceState registered = registeredState();
    Target target = target(ask(), registered);
    if (target == Target.KEEP || target.state == registered) {
      return;
    }
    try {
      switch (target) {
        case UP -> agent.register(checked.instance());
        case DRAINING -> agent.drain(checked.instance().service(), checked.instance().id());
        case GONE -> agent.deregister(checked.instance().service(), checked.instance().id());
        default -> throw new AssertionError(target);
      }
      log.info("{} is {}: {}", name, target.reason, target == Target.GONE ? "deregistered" : "registered " + target.state);
    } catch (RegistrationRejectedException e) {
      if (e.reason() == RegistrationRejectedException.Reason.AGENT_DEAD) { // the agent attaches again: a later check can succeed
        log.warn("{} is {} but the brokers did not take the change ({}); retrying at the next check", name, target.reason, e.getMessage());
      } else {
        refused.accept(e); // retrying cannot help: another agent owns the id, or the instance breaks a rule
      }
    } catch (LinkBridgeException e) {
      log.warn("{} is {} but the brokers did not take the change ({}); retrying at the next check", name, target.reason, e.getMessage());
    }
  }

  private enum Target {
    UP(InstanceState.UP, "SERVING"),
    DRAINING(InstanceState.DRAINING, "NOT_SERVING"),
    GONE(null, "not answering"),
    KEEP(null, "");

    final InstanceState state;
    final String reason;

    Target(InstanceState state, String reason) {
      this.state = state;
      this.reason = reason;
    }
  }

  private Target target(ServingStatus health, InstanceState registered) {
    if (health == null) {
      return ++failures >= config.unreachableAfter() && registered != null ? Target.GONE : Target.KEEP;
    }
    failures = 0;
    if (health == ServingStatus.SERVING) {
      return Target.UP;
    }
    return registered == null ? Target.KEEP : Target.DRAINING; // a service not serving yet is not announced
  }

  /** The instance's health, or null when it gave no answer. */
  private ServingStatus ask() {
    try {
      ServingStatus s = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(config.healthTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .check(HealthCheckRequest.newBuilder().setService(checked.healthService()).build()).getStatus();
      lastFailure = null;
      return s == ServingStatus.SERVING ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    } catch (StatusRuntimeException e) {
      String why = describe(e.getStatus());
      if (!why.equals(lastFailure)) {
        log.warn("{}: health check at {} failed: {}", name, checked.healthAddress(), why);
        lastFailure = why;
      }
      channel.resetConnectBackoff(); // a restarted instance is seen at the next check, not after gRPC's back-off
      return null;
    }
  }

  private String describe(Status s) {
    String base = s.getCode() + (s.getDescription() == null ? "" : " " + s.getDescription());
    return switch (s.getCode()) {
      case UNIMPLEMENTED -> base + " (the instance serves no grpc.health.v1.Health: add grpc's health service to it)";
      case NOT_FOUND -> base + " (the instance's health service does not know '" + checked.healthService()
          + "': set healthService to a name it reports, or \"\" for the whole server)";
      default -> base;
    };
  }

  private InstanceState registeredState() {
    ServiceInstance i = checked.instance();
    return agent.instances().stream().filter(x -> x.service().equals(i.service()) && x.id().equals(i.id()))
        .map(ServiceInstance::state).findFirst().orElse(null);
  }

  void close() {
    channel.shutdownNow();
  }
}
