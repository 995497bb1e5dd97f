package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SortedTreapTest {

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void randomPutsAndRemoves_behaveLikeATreeMap(long seed) {
    Random r = new Random(seed);
    TreeMap<String, Integer> model = new TreeMap<>();
    SortedTreap<Integer> treap = SortedTreap.empty();
    for (int i = 0; i < 20_000; i++) {
      String key = "k" + r.nextInt(2_000);
      if (r.nextInt(3) == 0) {
        model.remove(key);
        treap = treap.remove(key);
      } else {
        model.put(key, i);
        treap = treap.put(key, i);
      }
      if (i % 997 == 0) {
        assertThat(treap.keys()).containsExactlyElementsOf(model.keySet());
        assertThat(treap.values()).containsExactlyElementsOf(model.values());
      }
    }
    assertThat(treap.size()).isEqualTo(model.size());
    assertThat(treap.keys()).containsExactlyElementsOf(model.keySet());
    for (String k : model.keySet()) {
      assertThat(treap.get(k)).isEqualTo(model.get(k));
    }
    assertThat(treap.get("absent")).isNull();
  }

  @Test
  void update_leavesThePreviousVersionUnchanged() {
    SortedTreap<String> v1 = SortedTreap.<String>empty().put("a", "1").put("b", "2");
    SortedTreap<String> v2 = v1.put("c", "3").remove("a");
    assertThat(v1.keys()).containsExactly("a", "b");
    assertThat(v2.keys()).containsExactly("b", "c");
  }

  @Test
  void sameContentBuiltInDifferentOrders_equalAndSameHash() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      keys.add("id-" + i);
    }
    SortedTreap<Integer> a = SortedTreap.empty();
    for (String k : keys) {
      a = a.put(k, k.length());
    }
    java.util.Collections.shuffle(keys, new Random(9));
    SortedTreap<Integer> b = SortedTreap.empty();
    for (String k : keys) {
      b = b.put(k, k.length());
    }
    assertThat(a).isEqualTo(b);
    assertThat(a.hashCode()).isEqualTo(b.hashCode());
  }

  @Test
  void sequentialKeys_stayShallowEnoughForHundredsOfThousands() {
    SortedTreap<Integer> t = SortedTreap.empty();
    for (int i = 0; i < 300_000; i++) {
      t = t.put(String.format("inst-%08d", i), i);
    }
    assertThat(t.size()).isEqualTo(300_000);
    assertThat(t.get("inst-00123456")).isEqualTo(123456);
  }
}
