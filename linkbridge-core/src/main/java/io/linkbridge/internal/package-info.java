/** Implementation of the node: not API, may change in any release. */
package io.linkbridge.internal;
