package io.linkbridge.grpc.internal;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.netty.shaded.io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A broker's own network threads (epoll where the platform has it, else NIO): one thread accepting
 * connections and {@code threads} serving them. The proxy keeps a connection to each instance per
 * thread, so a proxied call is read, passed on and answered by the thread its caller's connection
 * runs on, never handed between threads (as nginx's and Envoy's workers do).
 */
final class EventLoops {
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final List<EventLoop> loops = new ArrayList<>();
  private final boolean epoll;

  EventLoops(String brokerId, int threads) {
    this.epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("linkbridge-accept-" + brokerId, true), io);
    this.workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("linkbridge-io-" + brokerId, true), io);
    for (EventExecutor e : workers) {
      loops.add((EventLoop) e);
    }
  }

  EventLoopGroup boss() {
    return boss;
  }

  EventLoopGroup workers() {
    return workers;
  }

  Class<? extends ServerChannel> serverChannelType() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  Class<? extends Channel> clientChannelType() {
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  int size() {
    return loops.size();
  }

  EventLoop loop(int index) {
    return loops.get(index);
  }

  /** The index of the loop running the calling thread; -1 on any other thread. */
  int current() {
    for (int i = 0; i < loops.size(); i++) {
      if (loops.get(i).inEventLoop()) {
        return i;
      }
    }
    return -1;
  }

  /** Once nothing uses them any more: ends the threads, without waiting for them. */
  void shutdown() {
    boss.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 5, TimeUnit.SECONDS);
  }
}
