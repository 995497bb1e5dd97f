/**
 * The standalone sidecar agent: {@code java -jar linkbridge-agent.jar --config agent.yaml} registers
 * the instances of a YAML file with the brokers and follows each instance's own
 * {@code grpc.health.v1} status (SERVING: UP, NOT_SERVING: DRAINING, no answer: deregistered). For
 * services that cannot embed the Java agent. See {@code docs/agents.md}.
 */
package io.linkbridge.agent;
