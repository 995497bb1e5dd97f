package io.linkbridge.testing;

import java.io.File;
import java.net.URI;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.ArrayList;
import java.util.List;

/** The command line that runs a main class of this test class path in a JVM of its own. */
public final class JavaCommand {
  private JavaCommand() {}

  /** {@code java -Xmx<maxHeap> -cp <this class path> <main> <args...>}. */
  public static List<String> of(String maxHeap, Class<?> main, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + maxHeap);
    cmd.add("-cp");
    cmd.add(classPath(main));
    cmd.add(main.getName());
    cmd.addAll(args);
    return cmd;
  }

  /**
   * The class path {@code main} was loaded from: the JVM's, or that of the class loader a launcher
   * such as {@code mvn exec:java} runs it in.
   */
  public static String classPath(Class<?> main) {
    if (main.getClassLoader() instanceof URLClassLoader u && u.getURLs().length > 0) {
      return Arrays.stream(u.getURLs()).map(url -> Path.of(URI.create(url.toString())).toString()).collect(Collectors.joining(File.pathSeparator));
    }
    return System.getProperty("java.class.path");
  }
}
