package io.linkbridge.internal.registry;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * An immutable sorted map from string keys, as a treap with path copying: an update copies only the
 * O(log n) nodes on its path and shares the rest, so each applied batch publishes a new registry
 * state without copying the services it did not touch, nor the untouched part of those it did.
 *
 * <p>Priorities derive from the key's {@link String#hashCode()} (specified by the JLS), so the shape
 * is the same on every broker. Iteration is in key order. Thread-safe (immutable).
 */
final class SortedTreap<V> {
  private static final SortedTreap<?> EMPTY = new SortedTreap<>(null, 0);

  private record Node<V>(String key, V value, int priority, Node<V> left, Node<V> right) {}

  private final Node<V> root;
  private final int size;

  private SortedTreap(Node<V> root, int size) {
    this.root = root;
    this.size = size;
  }

  @SuppressWarnings("unchecked")
  static <V> SortedTreap<V> empty() {
    return (SortedTreap<V>) EMPTY;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  V get(String key) {
    Node<V> n = root;
    while (n != null) {
      int c = key.compareTo(n.key);
      if (c == 0) {
        return n.value;
      }
      n = c < 0 ? n.left : n.right;
    }
    return null;
  }

  SortedTreap<V> put(String key, V value) {
    boolean exists = get(key) != null;
    return new SortedTreap<>(insert(root, key, value, priority(key)), exists ? size : size + 1);
  }

  SortedTreap<V> remove(String key) {
    return get(key) == null ? this : new SortedTreap<>(delete(root, key), size - 1);
  }

  /** The values in key order. */
  List<V> values() {
    List<V> out = new ArrayList<>(size);
    forEach((k, v) -> out.add(v));
    return out;
  }

  /** The keys in order. */
  List<String> keys() {
    List<String> out = new ArrayList<>(size);
    forEach((k, v) -> out.add(k));
    return out;
  }

  void forEach(BiConsumer<String, V> action) {
    // Iterative in-order walk: no recursion on the read path.
    ArrayList<Node<V>> stack = new ArrayList<>();
    Node<V> n = root;
    while (n != null || !stack.isEmpty()) {
      while (n != null) {
        stack.add(n);
        n = n.left;
      }
      n = stack.remove(stack.size() - 1);
      action.accept(n.key, n.value);
      n = n.right;
    }
  }

  private static int priority(String key) {
    int h = key.hashCode() * 0x9E3779B9; // spread the hash so similar keys get unrelated priorities
    return h ^ (h >>> 16);
  }

  private static <V> Node<V> insert(Node<V> n, String key, V value, int priority) {
    if (n == null) {
      return new Node<>(key, value, priority, null, null);
    }
    int c = key.compareTo(n.key);
    if (c == 0) {
      return new Node<>(key, value, n.priority, n.left, n.right);
    }
    if (c < 0) {
      Node<V> left = insert(n.left, key, value, priority);
      return left.priority > n.priority
          ? new Node<>(left.key, left.value, left.priority, left.left, new Node<>(n.key, n.value, n.priority, left.right, n.right))
          : new Node<>(n.key, n.value, n.priority, left, n.right);
    }
    Node<V> right = insert(n.right, key, value, priority);
    return right.priority > n.priority
        ? new Node<>(right.key, right.value, right.priority, new Node<>(n.key, n.value, n.priority, n.left, right.left), right.right)
        : new Node<>(n.key, n.value, n.priority, n.left, right);
  }

  private static <V> Node<V> delete(Node<V> n, String key) {
    int c = key.compareTo(n.key);
    if (c < 0) {
      return new Node<>(n.key, n.value, n.priority, delete(n.left, key), n.right);
    }
    if (c > 0) {
      return new Node<>(n.key, n.value, n.priority, n.left, delete(n.right, key));
    }
    return merge(n.left, n.right);
  }

  private static <V> Node<V> merge(Node<V> a, Node<V> b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return a.priority > b.priority
        ? new Node<>(a.key, a.value, a.priority, a.left, merge(a.right, b))
        : new Node<>(b.key, b.value, b.priority, merge(a, b.left), b.right);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof SortedTreap<?> other) || other.size != size) {
      return false;
    }
    List<Object> mine = new ArrayList<>(size * 2);
    forEach((k, v) -> {
      mine.add(k);
      mine.add(v);
    });
    List<Object> theirs = new ArrayList<>(size * 2);
    other.forEach((k, v) -> {
      theirs.add(k);
      theirs.add(v);
    });
    return mine.equals(theirs);
  }

  @Override
  public int hashCode() {
    int[] h = {size};
    forEach((k, v) -> h[0] = h[0] * 31 + k.hashCode() * 17 + v.hashCode());
    return h[0];
  }
}
