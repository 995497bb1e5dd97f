package io.linkbridge.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The frame path's parsing of what passes through it: message bounds, grpc-timeout, paths, host names. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class FrameProxyTest {
  private static ByteBuf message(int length) {
    return Unpooled.buffer().writeByte(0).writeInt(length).writeZero(length);
  }

  @Test
  void framing_findsTheEndOfEachMessage_acrossFramesSplitAnywhere() {
    ByteBuf stream = Unpooled.wrappedBuffer(message(3), message(0), message(70_000)); // 8 + 5 + 70,005 bytes
    int total = stream.readableBytes();
    for (int cut = 1; cut < total; cut = cut < 20 ? cut + 1 : cut + 997) {
      FrameProxy.Framing framing = new FrameProxy.Framing();
      ByteBuf first = stream.retainedSlice(0, cut);
      ByteBuf second = stream.retainedSlice(cut, total - cut);
      framing.pass(first, false);
      assertThat(framing.atBoundary()).as("cut at %d", cut).isEqualTo(cut == 8 || cut == 13);
      int toEnd = framing.pass(second, true);
      int expected = cut < 8 ? 8 - cut : cut < 13 ? 13 - cut : total - cut;
      assertThat(toEnd).as("bytes to the end of the message, cut at %d", cut).isEqualTo(expected);
      assertThat(framing.atBoundary()).isTrue();
      assertThat(second.readerIndex()).as("reading does not consume").isZero();
      first.release();
      second.release();
    }
  }

  @Test
  void framing_atAMessageStart_readsToTheEndOfTheNextWholeMessage() {
    FrameProxy.Framing framing = new FrameProxy.Framing();
    assertThat(framing.atBoundary()).isTrue();
    assertThat(framing.pass(Unpooled.wrappedBuffer(message(10), message(4)), true)).isEqualTo(15);
    assertThat(framing.pass(message(2).writerIndex(3), true)).as("a message that goes beyond the frame").isEqualTo(3);
    assertThat(framing.atBoundary()).isFalse();
  }

  @Test
  void grpcTimeout_parsesEveryUnit_andRefusesWhatIsMalformed() {
    assertThat(FrameProxy.timeoutNanos(null)).isEqualTo(-1);
    assertThat(FrameProxy.timeoutNanos("700m")).isEqualTo(TimeUnit.MILLISECONDS.toNanos(700));
    assertThat(FrameProxy.timeoutNanos("3S")).isEqualTo(TimeUnit.SECONDS.toNanos(3));
    assertThat(FrameProxy.timeoutNanos("2H")).isEqualTo(TimeUnit.HOURS.toNanos(2));
    assertThat(FrameProxy.timeoutNanos("12u")).isEqualTo(12_000);
    for (String bad : new String[] {"", "m", "123456789m", "1x", "-1m", "1.5S"}) {
      assertThat(FrameProxy.timeoutNanos(bad)).as(bad).isEqualTo(-2);
    }
    assertThat(FrameProxy.timeoutValue(TimeUnit.MILLISECONDS.toNanos(700))).isEqualTo("700000u");
    assertThat(FrameProxy.timeoutNanos(FrameProxy.timeoutValue(TimeUnit.DAYS.toNanos(3)))).isEqualTo(TimeUnit.DAYS.toNanos(3));
  }

  @Test
  void serviceOf_takesOnlyPackageServiceSlashMethod() {
    assertThat(FrameProxy.serviceOf("/pkg.Svc/Do")).isEqualTo("pkg.Svc");
    for (String bad : new String[] {"/", "//Do", "/pkg.Svc/", "/pkg.Svc/Do/more", "pkg.Svc/Do", "/x"}) {
      assertThat(FrameProxy.serviceOf(bad)).as(bad).isNull();
    }
  }

  @Test
  void ipLiterals_needNoLookup_namesDo() {
    assertThat(FrameProxy.isIpLiteral("127.0.0.1")).isTrue();
    assertThat(FrameProxy.isIpLiteral("::1")).isTrue();
    assertThat(FrameProxy.isIpLiteral("localhost")).isFalse();
    assertThat(FrameProxy.isIpLiteral("10.0.0.1.example")).isFalse();
    assertThat(FrameProxy.isIpLiteral("1234")).isFalse();
    assertThat(FrameProxy.isIpLiteral("999.1.1.1")).as("not an address: InetSocketAddress would look it up").isFalse();
    assertThat(FrameProxy.isIpLiteral("1..2.3")).isFalse();
    assertThat(FrameProxy.isIpLiteral("1.2.3.")).isFalse();
    assertThat(FrameProxy.isIpLiteral("0001.2.3.4")).isFalse();
  }
}
