package io.linkbridge.internal;

import io.linkbridge.LinkBridgeException;
import java.nio.file.Path;

/**
 * Tries to lock a data directory from a JVM of its own, as a second broker process would. Argument:
 * the directory. Prints {@code locked} (and releases it) or {@code refused <message>}.
 */
public final class LockProbeMain {
  public static void main(String[] args) {
    try {
      DataDirLock.acquire(Path.of(args[0]), "probe").release();
      System.out.println("locked");
    } catch (LinkBridgeException e) {
      System.out.println("refused " + e.getMessage());
    }
  }
}
