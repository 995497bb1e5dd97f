package io.linkbridge.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class StatusMappingTest {
  @Test
  void everyReason_mapsToItsOwnCode_andBack() {
    for (Reason r : Reason.values()) {
      assertThat(StatusMapping.reasonOf(StatusMapping.statusOf(r).getCode())).as("%s", r).contains(r);
    }
    Set<Status.Code> codes = EnumSet.allOf(Reason.class).stream().map(r -> StatusMapping.statusOf(r).getCode()).collect(Collectors.toSet());
    assertThat(codes).hasSize(Reason.values().length);
  }

  @Test
  void theCodesOfTheTable() {
    assertThat(StatusMapping.statusOf(Reason.ALREADY_OWNED).getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(StatusMapping.statusOf(Reason.AGENT_DEAD).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(StatusMapping.statusOf(Reason.NOT_FOUND).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(StatusMapping.statusOf(Reason.NOT_OWNER).getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(StatusMapping.statusOf(Reason.INVALID).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(StatusMapping.statusOf(Reason.STALE_TERM).getCode()).isEqualTo(Status.Code.ABORTED);
    assertThat(StatusMapping.statusOf(Reason.STALE).getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
  }

  @Test
  void agentRefusal_keepsAgentDeadAndNotFound_butAbortedAndUnavailableAreBrokerFailures() {
    assertThat(StatusMapping.agentRefusal(Status.FAILED_PRECONDITION.withDescription("agent a is DEAD"), "register g1"))
        .map(RegistrationRejectedException::reason).contains(Reason.AGENT_DEAD);
    assertThat(StatusMapping.agentRefusal(Status.NOT_FOUND, "deregister g1")).map(RegistrationRejectedException::reason).contains(Reason.NOT_FOUND);
    assertThat(StatusMapping.agentRefusal(Status.ALREADY_EXISTS.withDescription("owned by b"), "register g1"))
        .map(RegistrationRejectedException::getMessage).contains("register g1: ALREADY_EXISTS owned by b");
    assertThat(StatusMapping.agentRefusal(Status.ABORTED, "register")).isEmpty();
    assertThat(StatusMapping.agentRefusal(Status.UNAVAILABLE, "register")).isEmpty();
  }
}
