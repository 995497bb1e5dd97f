package io.linkbridge.internal;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.log.Agent;
import io.linkbridge.internal.log.AtomicResult;
import io.linkbridge.internal.log.Batch;
import io.linkbridge.internal.log.BatchResult;
import io.linkbridge.internal.log.Broker;
import io.linkbridge.internal.log.Command;
import io.linkbridge.internal.log.Instance;
import io.linkbridge.internal.log.RegistrySnapshot;
import io.linkbridge.internal.log.RejectReason;
import io.linkbridge.internal.log.Rejection;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/** Converts the registry model to and from its protobuf log and snapshot encoding. Stateless; thread-safe. */
public final class RegistryCodec {
  private RegistryCodec() {}

  // ---- commands ------------------------------------------------------------------------------

  public static byte[] encodeBatch(List<RegistryCommand> commands) {
    Batch.Builder b = Batch.newBuilder();
    for (RegistryCommand c : commands) {
      b.addCommands(toProto(c));
    }
    return b.build().toByteArray();
  }

  /** Decodes a log entry; throws {@link InvalidProtocolBufferException} for bytes that are not a batch. */
  public static List<Command> decodeBatch(byte[] entry) throws InvalidProtocolBufferException {
    return Batch.parseFrom(entry).getCommandsList();
  }

  static Command toProto(RegistryCommand command) {
    Command.Builder b = Command.newBuilder();
    if (command instanceof RegistryCommand.RegisterInstance c) {
      b.setRegister(io.linkbridge.internal.log.RegisterInstance.newBuilder().setInstance(toProto(c.instance())));
    } else if (command instanceof RegistryCommand.DeregisterInstance c) {
      b.setDeregister(io.linkbridge.internal.log.DeregisterInstance.newBuilder().setService(c.service()).setId(c.id()).setAgentId(c.agentId()));
    } else if (command instanceof RegistryCommand.UpdateAgentStatus c) {
      b.setUpdateAgentStatus(io.linkbridge.internal.log.UpdateAgentStatus.newBuilder().setAgentId(c.agentId()).setStatus(toProto(c.status())));
    } else if (command instanceof RegistryCommand.AttachAgent c) {
      b.setAttachAgent(io.linkbridge.internal.log.AttachAgent.newBuilder().setAgentId(c.agentId()).setBrokerId(c.brokerId()));
    } else if (command instanceof RegistryCommand.DetachAgent c) {
      b.setDetachAgent(io.linkbridge.internal.log.DetachAgent.newBuilder().setAgentId(c.agentId()).setBrokerId(c.brokerId()));
    } else if (command instanceof RegistryCommand.DetachBroker c) {
      b.setDetachBroker(io.linkbridge.internal.log.DetachBroker.newBuilder().setBrokerId(c.brokerId()).setTerm(c.term()));
    } else if (command instanceof RegistryCommand.AnnounceBroker c) {
      b.setAnnounceBroker(io.linkbridge.internal.log.AnnounceBroker.newBuilder().setBrokerId(c.brokerId()).setApiAddress(c.apiAddress().toString()));
    } else if (command instanceof RegistryCommand.Atomic c) {
      io.linkbridge.internal.log.Atomic.Builder group = io.linkbridge.internal.log.Atomic.newBuilder();
      c.commands().forEach(inner -> group.addCommands(toProto(inner)));
      if (c.fence() != null) {
        group.setFence(toProto(c.fence()));
      }
      b.setAtomic(group);
    } else if (command instanceof RegistryCommand.ChecksumMark c) {
      b.setChecksumMark(io.linkbridge.internal.log.ChecksumMark.newBuilder().setId(c.id()));
    } else if (command instanceof RegistryCommand.ChecksumReport c) {
      b.setChecksumReport(io.linkbridge.internal.log.ChecksumReport.newBuilder().setMarkId(c.markId()).setBrokerId(c.brokerId())
          .setRevision(c.revision()).setChecksum(c.checksum()));
    } else {
      throw new IllegalArgumentException("unknown command " + command);
    }
    return b.build();
  }

  /** Decodes one command; throws {@link IllegalArgumentException} naming the broken rule. */
  public static RegistryCommand fromProto(Command c) {
    return switch (c.getKindCase()) {
      case REGISTER -> new RegistryCommand.RegisterInstance(fromProto(c.getRegister().getInstance()));
      case DEREGISTER -> new RegistryCommand.DeregisterInstance(c.getDeregister().getService(), c.getDeregister().getId(), c.getDeregister().getAgentId());
      case UPDATE_AGENT_STATUS -> new RegistryCommand.UpdateAgentStatus(c.getUpdateAgentStatus().getAgentId(), fromProto(c.getUpdateAgentStatus().getStatus()));
      case ATTACH_AGENT -> new RegistryCommand.AttachAgent(c.getAttachAgent().getAgentId(), c.getAttachAgent().getBrokerId());
      case DETACH_AGENT -> new RegistryCommand.DetachAgent(c.getDetachAgent().getAgentId(), c.getDetachAgent().getBrokerId());
      case DETACH_BROKER -> new RegistryCommand.DetachBroker(c.getDetachBroker().getBrokerId(), c.getDetachBroker().getTerm());
      case CHECKSUM_MARK -> new RegistryCommand.ChecksumMark(c.getChecksumMark().getId());
      case CHECKSUM_REPORT -> new RegistryCommand.ChecksumReport(c.getChecksumReport().getMarkId(), c.getChecksumReport().getBrokerId(),
          c.getChecksumReport().getRevision(), c.getChecksumReport().getChecksum());
      case ANNOUNCE_BROKER -> new RegistryCommand.AnnounceBroker(c.getAnnounceBroker().getBrokerId(),
          HostAndPort.parse("announce_broker.api_address", c.getAnnounceBroker().getApiAddress()));
      case ATOMIC -> new RegistryCommand.Atomic(c.getAtomic().getCommandsList().stream().map(RegistryCodec::fromProto).toList(),
          c.getAtomic().hasFence() ? fromProto(c.getAtomic().getFence()) : null);
      case KIND_NOT_SET -> throw new IllegalArgumentException("command has no kind set (a command of a newer version?)");
    };
  }

  // ---- results -------------------------------------------------------------------------------

  public static byte[] encodeResults(List<CommandResult> results) {
    BatchResult.Builder b = BatchResult.newBuilder();
    for (CommandResult r : results) {
      b.addResults(toProto(r));
    }
    return b.build().toByteArray();
  }

  private static io.linkbridge.internal.log.CommandResult toProto(CommandResult r) {
    io.linkbridge.internal.log.CommandResult.Builder rb = io.linkbridge.internal.log.CommandResult.newBuilder();
    if (r instanceof CommandResult.Applied a) {
      rb.setRevision(a.revision());
    } else if (r instanceof CommandResult.Rejected j) {
      rb.setRejected(Rejection.newBuilder().setReason(RejectReason.valueOf(j.reason().name())).setMessage(j.message()));
    } else if (r instanceof CommandResult.Atomic g) {
      AtomicResult.Builder ab = AtomicResult.newBuilder().setApplied(g.applied());
      g.results().forEach(inner -> ab.addResults(toProto(inner)));
      rb.setAtomic(ab);
    }
    return rb.build();
  }

  /** Decodes the results of one entry; throws {@link IllegalStateException} for bytes that are not results. */
  public static List<CommandResult> decodeResults(byte[] bytes) {
    try {
      List<CommandResult> out = new ArrayList<>();
      for (io.linkbridge.internal.log.CommandResult r : BatchResult.parseFrom(bytes).getResultsList()) {
        out.add(fromProto(r));
      }
      return out;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt command result from the consensus engine", e);
    }
  }

  private static CommandResult fromProto(io.linkbridge.internal.log.CommandResult r) {
    if (r.hasRejected()) {
      RejectReason reason = r.getRejected().getReason();
      RegistrationRejectedException.Reason mapped = reason == RejectReason.REJECT_REASON_UNSPECIFIED || reason == RejectReason.UNRECOGNIZED
          ? RegistrationRejectedException.Reason.INVALID
          : RegistrationRejectedException.Reason.valueOf(reason.name());
      return new CommandResult.Rejected(mapped, r.getRejected().getMessage());
    }
    if (r.hasAtomic()) {
      return new CommandResult.Atomic(r.getAtomic().getApplied(), r.getAtomic().getResultsList().stream().map(RegistryCodec::fromProto).toList());
    }
    return new CommandResult.Applied(r.getRevision());
  }

  // ---- model ---------------------------------------------------------------------------------

  static Instance toProto(ServiceInstance i) {
    return Instance.newBuilder()
        .setService(i.service()).setId(i.id()).setHost(i.host()).setPort(i.port())
        .putAllMetadata(i.metadata()).setWeight(i.weight()).addAllGrpcServices(i.grpcServices())
        .setState(i.state() == InstanceState.DRAINING ? io.linkbridge.internal.log.InstanceState.DRAINING : io.linkbridge.internal.log.InstanceState.UP)
        .setAgentId(i.agentId())
        .build();
  }

  static ServiceInstance fromProto(Instance p) {
    InstanceState state = p.getState() == io.linkbridge.internal.log.InstanceState.DRAINING ? InstanceState.DRAINING : InstanceState.UP;
    return new ServiceInstance(p.getService(), p.getId(), p.getHost(), p.getPort(), p.getMetadataMap(), p.getWeight(),
        new HashSet<>(p.getGrpcServicesList()), state, p.getAgentId());
  }

  static io.linkbridge.internal.log.AgentStatus toProto(AgentStatus s) {
    return switch (s) {
      case ALIVE -> io.linkbridge.internal.log.AgentStatus.ALIVE;
      case DRAINING -> io.linkbridge.internal.log.AgentStatus.AGENT_DRAINING;
      case DEAD -> io.linkbridge.internal.log.AgentStatus.DEAD;
    };
  }

  static AgentStatus fromProto(io.linkbridge.internal.log.AgentStatus s) {
    return switch (s) {
      case ALIVE -> AgentStatus.ALIVE;
      case AGENT_DRAINING -> AgentStatus.DRAINING;
      case DEAD -> AgentStatus.DEAD;
      default -> throw new IllegalArgumentException("agent status must be ALIVE, DRAINING or DEAD, was " + s);
    };
  }

  private static io.linkbridge.internal.log.Fence toProto(RegistryCommand.Fence f) {
    return io.linkbridge.internal.log.Fence.newBuilder().setAgentId(f.agentId()).setIncarnation(f.incarnation()).setVersion(f.version()).build();
  }

  private static RegistryCommand.Fence fromProto(io.linkbridge.internal.log.Fence f) {
    return new RegistryCommand.Fence(f.getAgentId(), f.getIncarnation(), f.getVersion());
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** The canonical encoding of a state: sorted lists, deterministic map order. */
  public static byte[] encodeSnapshot(RegistryState state) {
    RegistrySnapshot.Builder b = RegistrySnapshot.newBuilder().setRevision(state.revision());
    for (ServiceInstance i : state.allInstances()) {
      b.addInstances(toProto(i));
    }
    for (AgentInfo a : state.agents()) {
      b.addAgents(Agent.newBuilder().setId(a.id()).setStatus(toProto(a.status())).addAllBrokers(a.brokers())
          .setDeadSince(state.deadSince(a.id()).orElse(0)));
    }
    state.brokerAddresses().forEach((id, address) -> b.addBrokers(Broker.newBuilder().setId(id).setApiAddress(address.toString())));
    state.fences().forEach(f -> b.addFences(toProto(f)));
    return deterministic(b.build());
  }

  public static RegistryState decodeSnapshot(byte[] bytes) throws InvalidProtocolBufferException {
    RegistrySnapshot s = RegistrySnapshot.parseFrom(bytes);
    List<ServiceInstance> instances = new ArrayList<>(s.getInstancesCount());
    for (Instance i : s.getInstancesList()) {
      instances.add(fromProto(i));
    }
    List<AgentInfo> agents = new ArrayList<>(s.getAgentsCount());
    Map<String, Long> deadSince = new HashMap<>();
    for (Agent a : s.getAgentsList()) {
      agents.add(new AgentInfo(a.getId(), fromProto(a.getStatus()), new HashSet<>(a.getBrokersList())));
      deadSince.put(a.getId(), a.getDeadSince());
    }
    Map<String, HostAndPort> brokers = new HashMap<>();
    for (Broker b : s.getBrokersList()) {
      brokers.put(b.getId(), HostAndPort.parse("snapshot broker " + b.getId(), b.getApiAddress()));
    }
    List<RegistryCommand.Fence> fences = s.getFencesList().stream().map(RegistryCodec::fromProto).toList();
    return RegistryState.of(s.getRevision(), instances, agents, deadSince, brokers, fences);
  }

  private static byte[] deterministic(MessageLite message) {
    byte[] out = new byte[message.getSerializedSize()];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    cos.useDeterministicSerialization();
    try {
      message.writeTo(cos);
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
