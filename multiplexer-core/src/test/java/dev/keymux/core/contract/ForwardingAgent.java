package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import java.util.List;

/** An agent that delegates to another and runs extra clean-up on close (test plumbing). */
class ForwardingAgent implements Agent, AutoCloseable {
  interface CleanUp {
    void run() throws Exception;
  }

  private final Agent delegate;
  private final CleanUp cleanUp;

  ForwardingAgent(Agent delegate, CleanUp cleanUp) {
    this.delegate = delegate;
    this.cleanUp = cleanUp;
  }

  Agent delegate() {
    return delegate;
  }

  @Override
  public List<Identity> list(Session s) throws AgentException {
    return delegate.list(s);
  }

  @Override
  public byte[] sign(Session s, KeyBlob k, byte[] d, int f) throws AgentException {
    return delegate.sign(s, k, d, f);
  }

  @Override
  public void add(Session s, AddIdentity r) throws AgentException {
    delegate.add(s, r);
  }

  @Override
  public void remove(Session s, KeyBlob k) throws AgentException {
    delegate.remove(s, k);
  }

  @Override
  public void removeAll(Session s) throws AgentException {
    delegate.removeAll(s);
  }

  @Override
  public void close() throws Exception {
    if (delegate instanceof AutoCloseable c) {
      c.close();
    }
    cleanUp.run();
  }
}
