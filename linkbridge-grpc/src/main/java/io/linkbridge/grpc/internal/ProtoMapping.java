package io.linkbridge.grpc.internal;

import io.linkbridge.InstanceState;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Instance;
import java.util.HashSet;
import java.util.List;

/** Converts the registry model to the wire messages of {@code linkbridge.v1}. Stateless. */
final class ProtoMapping {
  private ProtoMapping() {}

  static Instance toProto(ServiceInstance i) {
    return Instance.newBuilder()
        .setService(i.service()).setId(i.id()).setHost(i.host()).setPort(i.port()).putAllMetadata(i.metadata())
        .setWeight(i.weight()).addAllGrpcServices(i.grpcServices())
        .setState(i.state() == InstanceState.DRAINING ? io.linkbridge.grpc.v1.InstanceState.DRAINING : io.linkbridge.grpc.v1.InstanceState.UP)
        .setAgentId(i.agentId())
        .build();
  }

  /** The model instance of a wire instance, owned by {@code agentId}; throws IllegalArgumentException naming the field. */
  static ServiceInstance fromProto(Instance p, String agentId) {
    InstanceState state = p.getState() == io.linkbridge.grpc.v1.InstanceState.DRAINING ? InstanceState.DRAINING : InstanceState.UP;
    return new ServiceInstance(p.getService(), p.getId(), p.getHost(), p.getPort(), p.getMetadataMap(),
        p.hasWeight() ? p.getWeight() : ServiceInstance.DEFAULT_WEIGHT, new HashSet<>(p.getGrpcServicesList()), state, agentId);
  }

  static List<Instance> toProto(List<ServiceInstance> instances) {
    return instances.stream().map(ProtoMapping::toProto).toList();
  }
}
