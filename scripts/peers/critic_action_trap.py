"""ddpg's DDPG on Pendulum-v1, replicated in torch, to tell a property of the critic's shape from a code defect
(issue 27; docs/ALGORITHM.md, "Why the action joins the critic at its input").

Actor [64,64] relu -> tanh * 2; critic with the action joining after the first hidden layer;
U(+-1/sqrt(fan_in)) init, final layers U(+-init); Huber(1) critic loss; Adam 1e-3; tau 0.005;
gamma 0.99; batch 128; 1000 uniform random steps; learning starts 1000; Gaussian noise 0.1 of the half range;
n-step transitions as ddpg's NStepAdder makes them (truncation bootstraps with gamma^k).
--probe prints, every 250 updates of the first 3,000, how one-signed dQ/da is across a batch
(|mean| / mean |.|, 1 = the same sign in every state) and how saturated the actor's tanh is.

Usage (the SB3 venv has torch and gymnasium):
  python scripts/peers/critic_action_trap.py --seed 2 --n-step 3 --action-layer 1 --probe   # pinned at full torque
  python scripts/peers/critic_action_trap.py --seed 2 --n-step 3 --action-layer 0 --probe   # learns
"""
import argparse, math
import numpy as np, torch, torch.nn as nn, gymnasium as gym

p = argparse.ArgumentParser()
p.add_argument("--seed", type=int, default=1); p.add_argument("--n-step", type=int, default=3)
p.add_argument("--steps", type=int, default=20000); p.add_argument("--action-layer", type=int, default=1)
p.add_argument("--final-init", type=float, default=3e-3); p.add_argument("--probe", action="store_true"); p.add_argument("--loss", default="huber")
a = p.parse_args()
torch.set_num_threads(1); torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)

def lin(i, o, bound=None):
    l = nn.Linear(i, o); b = bound if bound is not None else 1 / math.sqrt(i)
    nn.init.uniform_(l.weight, -b, b); nn.init.uniform_(l.bias, -b, b); return l

class Actor(nn.Module):
    def __init__(s): super().__init__(); s.l1, s.l2, s.l3 = lin(3, 64), lin(64, 64), lin(64, 1, a.final_init)
    def forward(s, x): return 2 * torch.tanh(s.l3(torch.relu(s.l2(torch.relu(s.l1(x))))))

class Critic(nn.Module):
    def __init__(s):
        super().__init__()
        if a.action_layer == 1: s.l1, s.l2 = lin(3, 64), lin(65, 64)
        else: s.l1, s.l2 = lin(4, 64), lin(64, 64)
        s.l3 = lin(64, 1, a.final_init)
    def forward(s, x, u):
        if a.action_layer == 1: h = torch.relu(s.l2(torch.cat([torch.relu(s.l1(x)), u], 1)))
        else: h = torch.relu(s.l2(torch.relu(s.l1(torch.cat([x, u], 1)))))
        return s.l3(h)

actor, critic = Actor(), Critic()
actor_t, critic_t = Actor(), Critic(); actor_t.load_state_dict(actor.state_dict()); critic_t.load_state_dict(critic.state_dict())
ao, co = torch.optim.Adam(actor.parameters(), 1e-3), torch.optim.Adam(critic.parameters(), 1e-3)
N = a.steps; S = np.zeros((N, 3), np.float32); A = np.zeros((N, 1), np.float32); R = np.zeros(N, np.float32)
S2 = np.zeros((N, 3), np.float32); D = np.zeros(N, np.float32); size = 0
env = gym.make("Pendulum-v1"); obs, _ = env.reset(seed=a.seed); pending = []

def emit(k, nxt, terminated):
    global size
    s0, a0 = pending[0][0], pending[0][1]
    S[size], A[size], S2[size] = s0, a0, nxt
    R[size] = sum(0.99 ** i * pending[i][2] for i in range(k)); D[size] = 0 if terminated else 0.99 ** k; size += 1
    pending.pop(0)

def evaluate(episodes=10):
    e = gym.make("Pendulum-v1"); total = 0.0
    for i in range(episodes):
        o, _ = e.reset(seed=1000 + i); done = False
        while not done:
            with torch.no_grad(): u = actor(torch.as_tensor(o[None], dtype=torch.float32)).numpy()[0]
            o, r, term, trunc, _ = e.step(u); total += r; done = term or trunc
    return total / episodes

curve = []
for t in range(N):
    if t < 1000: u = rng.uniform(-2, 2, 1).astype(np.float32)
    else:
        with torch.no_grad(): u = actor(torch.as_tensor(obs[None], dtype=torch.float32)).numpy()[0]
        u = np.clip(u + 2 * 0.1 * rng.standard_normal(1), -2, 2).astype(np.float32)
    nxt, r, term, trunc, _ = env.step(u); pending.append((obs.copy(), u, r))
    if term or trunc:
        while pending: emit(len(pending), nxt, term)
        obs, _ = env.reset()
    else:
        if len(pending) == a.n_step: emit(a.n_step, nxt, False)
        obs = nxt
    if t + 1 >= 1000:
        i = rng.integers(0, size, 128)
        s, u_, rr, s2, d = (torch.as_tensor(x[i]) for x in (S, A, R, S2, D))
        with torch.no_grad(): y = rr[:, None] + d[:, None] * critic_t(s2, actor_t(s2))
        q = critic(s, u_)
        loss = nn.functional.smooth_l1_loss(q, y) if a.loss == "huber" else nn.functional.mse_loss(q, y)
        co.zero_grad(); loss.backward(); co.step()
        al = -critic(s, actor(s)).mean(); ao.zero_grad(); al.backward(); ao.step()
        with torch.no_grad():
            for net, tgt in ((actor, actor_t), (critic, critic_t)):
                for p_, pt in zip(net.parameters(), tgt.parameters()): pt.mul_(0.995).add_(0.005 * p_)
    if (t + 1) % 2000 == 0: curve.append(round(evaluate(5)))
    if a.probe and t + 1 >= 1000 and (t + 1 - 1000) % 250 == 0 and t + 1 <= 4000:
        i = rng.integers(0, size, 512); s = torch.as_tensor(S[i])
        with torch.no_grad(): z = actor.l3(torch.relu(actor.l2(torch.relu(actor.l1(s)))))
        u0 = torch.tanh(z) * 2; u0.requires_grad_(True); g = torch.autograd.grad(critic(s, u0).sum(), u0)[0]
        consistency = (g.mean().abs() / g.abs().mean()).item()
        print(f"  step {t+1}: dQ/da mean {g.mean().item():+.3f} |mean|/mean|.| {consistency:.2f}  |z| mean {z.abs().mean().item():.2f} saturated(|z|>3) {(z.abs() > 3).float().mean().item():.2f}", flush=True)
print(f"seed {a.seed} n {a.n_step} layer {a.action_layer} loss {a.loss}: final {evaluate(20):.0f} curve {curve}", flush=True)
