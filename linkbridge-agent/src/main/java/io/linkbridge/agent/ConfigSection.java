package io.linkbridge.agent;

import io.linkbridge.Durations;
import io.linkbridge.HostAndPort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * One mapping of a YAML configuration file, read strictly: every value is read as the type its key
 * needs, an error names the file, line, key path, the value and what is allowed, and
 * {@link #rejectUnknownKeys()} turns a misspelt key into an error instead of a silent default.
 * Not thread-safe.
 */
final class ConfigSection {
  private final String source;
  private final String path;
  private final Node node;
  private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
  private final Set<String> known = new LinkedHashSet<>(); // the keys this section takes, from keys(...)

  private ConfigSection(String source, String path, Node node) {
    this.source = source;
    this.path = path;
    this.node = node;
    if (!(node instanceof MappingNode mapping)) {
      throw error(node, "must be a mapping of keys to values");
    }
    for (NodeTuple t : mapping.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode key)) {
        throw error(t.getKeyNode(), "keys must be plain names");
      }
      if (entries.putIfAbsent(key.getValue(), t) != null) {
        throw new ConfigException(where(key) + child(key.getValue()) + " is set twice");
      }
    }
  }

  /** The root mapping of a YAML document; {@code source} names it in errors (a file name). */
  static ConfigSection parse(String yaml, String source) {
    Optional<Node> root;
    try {
      root = new Compose(LoadSettings.builder().setLabel(source).setMaxAliasesForCollections(10).build()).composeString(yaml);
    } catch (YamlEngineException e) {
      throw new ConfigException(source + ": not valid YAML: " + e.getMessage());
    }
    if (root.isEmpty()) {
      throw new ConfigException(source + ": is empty");
    }
    return new ConfigSection(source, "", root.get());
  }

  /** The nested mapping at {@code key}, which must be present. */
  ConfigSection section(String key) {
    return new ConfigSection(source, child(key), required(key));
  }

  /** The nested mapping at {@code key}, or an empty one when the key is absent. */
  ConfigSection sectionOrEmpty(String key) {
    return has(key) ? section(key) : new ConfigSection(source, child(key), new MappingNode(Tag.MAP, List.of(), FlowStyle.AUTO));
  }

  /** The list of mappings at {@code key}, which must be present and not empty. */
  List<ConfigSection> sections(String key) {
    List<ConfigSection> out = new ArrayList<>();
    List<Node> items = sequence(key);
    for (int i = 0; i < items.size(); i++) {
      out.add(new ConfigSection(source, child(key) + "[" + i + "]", items.get(i)));
    }
    return out;
  }

  boolean has(String key) {
    return entries.containsKey(key);
  }

  String string(String key) {
    return scalar(key, required(key));
  }

  String string(String key, String fallback) {
    return has(key) ? string(key) : fallback;
  }

  int integer(String key, int fallback, int min, int max) {
    if (!has(key)) {
      return fallback;
    }
    String v = string(key);
    try {
      int n = Integer.parseInt(v.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw error(required(key), "must be a whole number in " + min + ".." + max + ", was '" + v + "'", key);
  }

  Duration duration(String key, Duration fallback, Duration min) {
    if (!has(key)) {
      return fallback;
    }
    Duration d = convert(key, v -> Durations.parse(key, v));
    if (d.compareTo(min) < 0) {
      throw error(required(key), "must be at least " + Durations.format(min) + ", was " + string(key), key);
    }
    return d;
  }

  HostAndPort hostAndPort(String key) {
    return convert(key, v -> HostAndPort.parse(key, v));
  }

  /** The scalars of the sequence at {@code key}; absent: empty. */
  List<String> strings(String key) {
    if (!has(key)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    List<Node> items = sequence(key);
    for (int i = 0; i < items.size(); i++) {
      out.add(scalar(key + "[" + i + "]", items.get(i)));
    }
    return out;
  }

  /** The mapping of scalars at {@code key}; absent: empty. */
  Map<String, String> stringMap(String key) {
    if (!has(key)) {
      return Map.of();
    }
    ConfigSection m = section(key);
    Map<String, String> out = new LinkedHashMap<>();
    for (String k : m.entries.keySet()) {
      out.put(k, m.string(k));
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * Applies a parser of the model to the value at {@code key}, reporting its message (which starts
   * with the field name, as the model's messages do) at the value's line, under this section's path.
   */
  <T> T convert(String key, Function<String, T> parse) {
    String v = string(key);
    try {
      return parse.apply(v);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(where(required(key)) + qualified(e.getMessage()));
    }
  }

  /** An error at this section's line; {@code modelMessage} starts with a field name of this section. */
  ConfigException error(String modelMessage) {
    return new ConfigException(where(node) + qualified(modelMessage));
  }

  private String qualified(String modelMessage) {
    return path.isEmpty() ? modelMessage : path + "." + modelMessage;
  }

  /** Fails on the first key not declared with {@link #keys}, naming the keys this section takes. */
  void rejectUnknownKeys() {
    for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
      if (!known.contains(e.getKey())) {
        throw new ConfigException(where(e.getValue().getKeyNode()) + child(e.getKey()) + " is not a known key; "
            + (known.isEmpty() ? "this section takes no keys" : "the keys here are " + String.join(", ", known)));
      }
    }
  }

  /** Declares the keys this section takes, for {@link #rejectUnknownKeys()}. */
  ConfigSection keys(String... known) {
    this.known.addAll(List.of(known));
    return this;
  }

  private Node required(String key) {
    NodeTuple t = entries.get(key);
    if (t == null) {
      throw error(key + " is required");
    }
    return t.getValueNode();
  }

  private List<Node> sequence(String key) {
    Node n = required(key);
    if (!(n instanceof SequenceNode seq)) {
      throw error(n, "must be a list", key);
    }
    if (seq.getValue().isEmpty()) {
      throw error(n, "must not be empty", key);
    }
    return seq.getValue();
  }

  private String scalar(String key, Node n) {
    if (!(n instanceof ScalarNode s)) {
      throw error(n, "must be a single value, not a " + (n instanceof SequenceNode ? "list" : "mapping"), key);
    }
    return s.getValue();
  }

  private String child(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private ConfigException error(Node at, String message, String key) {
    return new ConfigException(where(at) + child(key) + " " + message);
  }

  private ConfigException error(Node at, String message) {
    return new ConfigException(where(at) + (path.isEmpty() ? "the document" : path) + " " + message);
  }

  private String where(Node at) {
    Optional<Mark> m = at.getStartMark();
    return source + (m.isPresent() ? ":" + (m.get().getLine() + 1) + ":" + (m.get().getColumn() + 1) : "") + ": ";
  }
}
