package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.AgentStatus;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryStateMachine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Each agent message is one atomic command, checked at the edge: ownership, the agent-id rule, maxInstancesPerAgent. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AgentRegistrationsTest {
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final List<RegistryCommand> submitted = new ArrayList<>();
  private final AgentRegistrations agents = new AgentRegistrations("b1", this::commit, sm::state, 3);

  private CompletableFuture<CommandResult> commit(RegistryCommand c) {
    submitted.add(c);
    return CompletableFuture.completedFuture(sm.applyAll(List.of(c)).get(0));
  }

  private static ServiceInstance instance(String id, String agent) {
    return ServiceInstance.builder("greeter").id(id).endpoint("10.0.0.1", 9000).agentId(agent).build();
  }

  private static List<ServiceInstance> instances(String agent, int n) {
    return IntStream.range(0, n).mapToObj(i -> instance("g" + i, agent)).toList();
  }

  private static RegistrationRejectedException refusal(CompletableFuture<Long> f) {
    try {
      f.join();
    } catch (CompletionException e) {
      return (RegistrationRejectedException) e.getCause();
    }
    throw new AssertionError("not refused");
  }

  @Test
  void attach_isOneAtomicCommand_attachingAndRegistering() {
    long revision = agents.attach("a1", instances("a1", 2), null).join();
    assertThat(submitted).singleElement().isInstanceOf(RegistryCommand.Atomic.class);
    assertThat(revision).isEqualTo(sm.state().revision()).isEqualTo(3);
    assertThat(sm.state().agent("a1").orElseThrow().brokers()).containsExactly("b1");
    assertThat(sm.state().instancesOf("a1")).hasSize(2);
  }

  @Test
  void aRegisterHalfOfWhichIsOwnedByAnotherAgent_registersNothing() {
    agents.attach("other", List.of(instance("g1", "other")), null).join();
    long before = sm.state().revision();
    RegistrationRejectedException e = refusal(agents.attach("a1", List.of(instance("g0", "a1"), instance("g1", "a1")), null));
    assertThat(e.reason()).isEqualTo(Reason.ALREADY_OWNED);
    assertThat(sm.state().revision()).isEqualTo(before);
    assertThat(sm.state().agent("a1")).isEmpty();
    assertThat(sm.state().instance("greeter", "g0")).isEmpty();
  }

  @Test
  void aRegisterBeyondMaxInstancesPerAgent_isRefusedLimit_namingTheLimitAndTheSetting() {
    RegistrationRejectedException e = refusal(agents.attach("a1", instances("a1", 4), null));
    assertThat(e.reason()).isEqualTo(Reason.LIMIT);
    assertThat(e).hasMessageContaining("would own 4 instances").hasMessageContaining("maxInstancesPerAgent (3)")
        .hasMessageContaining("NodeBuilder.maxInstancesPerAgent");
    assertThat(submitted).isEmpty();
  }

  @Test
  void theLimitCounts_whatTheAgentOwnsAlready_plusWhatItAdds() {
    agents.attach("a1", instances("a1", 2), null).join();
    assertThat(agents.update("a1", List.of(instance("g0", "a1"), instance("g1", "a1")), false, null).join()).isPositive(); // replaces: still 2
    assertThat(refusal(agents.update("a1", List.of(instance("x", "a1"), instance("y", "a1")), false, null)).reason()).isEqualTo(Reason.LIMIT);
  }

  @Test
  void anInstanceOfAnotherOwner_isRefusedInvalid_beforeTheLog() {
    assertThat(refusal(agents.attach("a1", List.of(instance("g0", "a2")), null)).reason()).isEqualTo(Reason.INVALID);
    assertThat(refusal(agents.attach("a1", List.of(instance("g0", "")), null)).reason()).isEqualTo(Reason.INVALID);
    assertThat(submitted).isEmpty();
  }

  @Test
  void aBadAgentId_isRefusedInvalid() {
    assertThat(refusal(agents.attach("bad id/", List.of(), null)).reason()).isEqualTo(Reason.INVALID);
  }

  @Test
  void deregister_ofIdsPartlyGone_removesTheRest_andAnswersTheRevision() {
    agents.attach("a1", instances("a1", 3), null).join();
    long revision = agents.deregister("a1", "greeter", List.of("gone", "g0", "g1"), null).join();
    assertThat(sm.state().instancesOf("a1")).extracting(ServiceInstance::id).containsExactly("g2");
    assertThat(revision).isEqualTo(sm.state().revision());
    assertThat(agents.deregister("a1", "greeter", List.of("gone"), null).join()).isEqualTo(sm.state().revision());
  }

  @Test
  void drainDeregisterAllAndDetach_doWhatTheAgentSaid() {
    agents.attach("a1", instances("a1", 2), null).join();
    agents.drain("a1", null).join();
    assertThat(sm.state().instancesOf("a1")).extracting(ServiceInstance::state).containsOnly(InstanceState.DRAINING);
    agents.deregisterAll("a1", null).join();
    assertThat(sm.state().instancesOf("a1")).isEmpty();
    int writes = submitted.size();
    assertThat(agents.deregisterAll("a1", null).join()).isEqualTo(sm.state().revision());
    assertThat(submitted).as("nothing left to remove: no write").hasSize(writes);
    agents.detach("a1").join();
    assertThat(sm.state().agent("a1").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
  }

  @Test
  void anUpdateWithAttachFirst_reattachesInTheSameCommand() {
    agents.attach("a1", instances("a1", 1), null).join();
    agents.detach("a1").join();
    assertThatThrownBy(() -> agents.update("a1", instances("a1", 1), false, null).join()).hasCauseInstanceOf(RegistrationRejectedException.class);
    agents.update("a1", instances("a1", 1), true, null).join();
    assertThat(sm.state().agent("a1").orElseThrow().status()).isEqualTo(AgentStatus.ALIVE);
    assertThat(sm.state().instancesOf("a1")).hasSize(1);
  }

  @Test
  void aStaleAttach_failsWithStaleSoTheStreamRegistersAgain_aStaleUpdateIsAcked() {
    RegistryCommand.Fence at0 = new RegistryCommand.Fence("a1", "run", 0);
    RegistryCommand.Fence at1 = new RegistryCommand.Fence("a1", "run", 1);
    agents.attach("a1", instances("a1", 1), at1).join();
    RegistrationRejectedException stale = refusal(agents.attach("a1", instances("a1", 2), at0));
    assertThat(stale.reason()).isEqualTo(Reason.STALE);
    assertThat(stale.getMessage()).contains("register again with what the agent runs now");
    assertThat(sm.state().instancesOf("a1")).hasSize(1); // g0 only: the stale attach added no g1

    assertThat(agents.update("a1", instances("a1", 2), false, at0).join()).isEqualTo(sm.state().revision()); // the agent moved on
    assertThat(sm.state().instancesOf("a1")).hasSize(1);
  }
}
