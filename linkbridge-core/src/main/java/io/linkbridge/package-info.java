/**
 * The Link Bridge API. {@link io.linkbridge.LinkBridge#node()} embeds a broker of a Raft-replicated
 * service registry in this JVM; {@link io.linkbridge.Node#registry()} reads and writes it.
 */
package io.linkbridge;
