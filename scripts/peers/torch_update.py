"""PyTorch's DDPG update on one thread, written the way CleanRL writes it, for the same
shapes and batch as `ddpg-bench`: Pendulum's 3 observations and 1 action, batch 256,
ReLU hidden layers, the action joining the critic at its second layer, replay sampling
included. Prints one JSON object per line, like `ddpg-bench`."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

OBSERVATION_SIZE, ACTION_SIZE, ACTION_BOUND, BATCH = 3, 1, 2.0, 256


class Actor(nn.Module):
    def __init__(self, hidden: list[int]) -> None:
        super().__init__()
        sizes = [OBSERVATION_SIZE, *hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(sizes[-1], ACTION_SIZE)

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        x = observation
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return ACTION_BOUND * torch.tanh(self.out(x))


class Critic(nn.Module):
    """Q(s, a) with the action joining at the second layer, as `ddpg` (and the DDPG paper) does."""

    def __init__(self, hidden: list[int]) -> None:
        super().__init__()
        self.first = nn.Linear(OBSERVATION_SIZE, hidden[0])
        self.second = nn.Linear(hidden[0] + ACTION_SIZE, hidden[1])
        self.out = nn.Linear(hidden[1], 1)

    def forward(self, observation: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.first(observation))
        x = torch.relu(self.second(torch.cat([x, action], dim=1)))
        return self.out(x)


def update_rate(hidden: list[int], fused: bool, seconds: float) -> float:
    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    size = 20_000
    observations = rng.uniform(-1, 1, (size, OBSERVATION_SIZE)).astype(np.float32)
    actions = rng.uniform(-2, 2, (size, ACTION_SIZE)).astype(np.float32)
    rewards = rng.uniform(-16, 0, size).astype(np.float32)
    next_observations = rng.uniform(-1, 1, (size, OBSERVATION_SIZE)).astype(np.float32)
    terminated = np.zeros(size, dtype=np.float32)

    actor, critic = Actor(hidden), Critic(hidden)
    target_actor, target_critic = Actor(hidden), Critic(hidden)
    target_actor.load_state_dict(actor.state_dict())
    target_critic.load_state_dict(critic.state_dict())
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=1e-3, fused=fused or None)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, fused=fused or None)
    online = list(actor.parameters()) + list(critic.parameters())
    target = list(target_actor.parameters()) + list(target_critic.parameters())
    gamma, tau = 0.99, 0.005

    def update() -> None:
        index = rng.integers(0, size, BATCH)
        s, a = torch.from_numpy(observations[index]), torch.from_numpy(actions[index])
        r, s2 = torch.from_numpy(rewards[index]), torch.from_numpy(next_observations[index])
        done = torch.from_numpy(terminated[index])
        with torch.no_grad():
            y = r + gamma * (1 - done) * target_critic(s2, target_actor(s2)).view(-1)
        critic_loss = nn.functional.mse_loss(critic(s, a).view(-1), y)
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        actor_loss = -critic(s, actor(s)).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(target, online, tau)

    for _ in range(50):
        update()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            update()
        count += 10
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--shapes", default="256x256,400x300,64x64")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"name": "torch_version", "value": torch.__version__, "unit": ""}))
    print(json.dumps({"name": "torch_cpu_capability", "value": torch.backends.cpu.get_cpu_capability(), "unit": ""}))
    for shape in args.shapes.split(","):
        hidden = [int(n) for n in shape.split("x")]
        for fused in (False, True):
            name = f"torch_update_b256_{shape}" + ("_fused_adam" if fused else "")
            value = update_rate(hidden, fused, args.seconds)
            print(json.dumps({"name": name, "value": round(value, 2), "unit": "updates/s"}), flush=True)


if __name__ == "__main__":
    main()
