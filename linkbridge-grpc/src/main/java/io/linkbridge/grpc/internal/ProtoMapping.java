package io.linkbridge.grpc.internal;

import io.linkbridge.InstanceState;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Instance;
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

  static List<Instance> toProto(List<ServiceInstance> instances) {
    return instances.stream().map(ProtoMapping::toProto).toList();
  }
}
