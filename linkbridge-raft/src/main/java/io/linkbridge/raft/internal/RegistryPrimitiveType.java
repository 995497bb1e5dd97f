package io.linkbridge.raft.internal;

import io.atomix.primitive.PrimitiveBuilder;
import io.atomix.primitive.PrimitiveManagementService;
import io.atomix.primitive.PrimitiveType;
import io.atomix.primitive.config.PrimitiveConfig;
import io.atomix.primitive.service.PrimitiveService;
import io.atomix.primitive.service.ServiceConfig;
import io.atomix.utils.serializer.Namespace;
import io.linkbridge.spi.StateMachine;
import java.util.function.Consumer;

/**
 * The one Atomix primitive Link Bridge runs: a service whose state is the Link Bridge
 * {@link StateMachine}. Only the server side is used; there is no Atomix client-side primitive.
 */
@SuppressWarnings("rawtypes")
final class RegistryPrimitiveType implements PrimitiveType {
  static final String NAME = "linkbridge-registry";

  private final StateMachine stateMachine;
  private final AppliedIndex appliedIndex;
  private final EntryTerms terms;
  private final Consumer<String> onDamagedSnapshot;

  RegistryPrimitiveType(StateMachine stateMachine, AppliedIndex appliedIndex, EntryTerms terms, Consumer<String> onDamagedSnapshot) {
    this.stateMachine = stateMachine;
    this.appliedIndex = appliedIndex;
    this.terms = terms;
    this.onDamagedSnapshot = onDamagedSnapshot;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Namespace namespace() {
    return RaftSerializers.SERVICE_CONFIG;
  }

  @Override
  public PrimitiveConfig newConfig() {
    throw new UnsupportedOperationException("the " + NAME + " primitive has no client-side configuration");
  }

  @Override
  public PrimitiveBuilder newBuilder(String primitiveName, PrimitiveConfig config, PrimitiveManagementService managementService) {
    throw new UnsupportedOperationException("the " + NAME + " primitive has no client-side builder");
  }

  @Override
  public PrimitiveService newService(ServiceConfig config) {
    return new RegistryPrimitiveService(stateMachine, appliedIndex, terms, onDamagedSnapshot);
  }

}
