// Solves CartPole-v1 with PPO or DQN and reports the wall time to solve: mean greedy return of at
// least 475 over 100 evaluation episodes. Writes the learning curve as CSV and PNG.
//   dotnet run -c Release --project samples/CartPole                      # PPO, seed 1
//   dotnet run -c Release --project samples/CartPole -- --agent dqn --seed 2
using System.Diagnostics;
using System.Globalization;
using Lepton.Rl;
using Lepton.Samples;

const string usage = "usage: CartPole [--agent ppo|dqn] [--seed N] [--max-seconds S] [--out DIR]";
string agentName = "ppo", outDir = "runs";
int seed = 1;
double maxSeconds = 300;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{usage}");
    switch (args[i])
    {
        case "--agent": agentName = Next(); break;
        case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--max-seconds": maxSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--out": outDir = Next(); break;
        case "-h" or "--help": Console.WriteLine(usage); return 0;
        default: throw new ArgumentException($"Unknown option '{args[i]}'.\n{usage}");
    }
}

const double solvedAt = 475, evaluationEpisodes = 100;
Lepton.Generator.ManualSeed((ulong)seed);
var clock = Stopwatch.StartNew();

// 1. Environments and agent. PPO: 8 CartPoles acted on in one batch, 32 steps each per rollout, 10 epochs
//    of minibatches of 128 (rl-zoo's tuned settings, with the learning rate decaying over 100k steps).
//    DQN: 4 CartPoles, 256 steps between rounds of 128 gradient steps (Adam 1e-3, double-DQN, Huber
//    loss), the target network copied after each round.
var envs = new SyncVectorEnvironment<int>(agentName == "dqn" ? 4 : 8, () => new CartPole());
IDiscreteAgent agent = agentName switch
{
    "ppo" => new PpoAgent(4, 2, new PpoOptions { Seed = seed, AnnealSteps = 100_000 }),
    "dqn" => new DqnAgent(4, 2, new DqnOptions { Seed = seed }),
    _ => throw new ArgumentException($"Unknown agent '{agentName}'.\n{usage}"),
};
Console.WriteLine($"{agentName.ToUpperInvariant()} on {envs.Id}, {envs.Count} environments, seed {seed}");

// 2. Train: one line per iteration. When the last 20 training episodes average 475 or more (or every 10th
//    iteration once they average 200, since exploration keeps DQN's training returns below its greedy ones),
//    run the greedy policy for 100 fresh episodes; the task is solved when their mean return reaches 475.
var curve = new List<(int Iteration, long Steps, double Seconds, double TrainReturn, double EvalReturn)>();
var recent = new Queue<double>();
double? solvedSeconds = null;
for (int iteration = 1; clock.Elapsed.TotalSeconds < maxSeconds; iteration++)
{
    var (steps, episodes, detail) = agent switch
    {
        PpoAgent ppo => ppo.Iterate(envs) is var it ? (it.EnvironmentSteps, it.Episodes, $"entropy {it.Entropy:F3}") : default,
        DqnAgent dqn => dqn.Iterate(envs, 64) is var it ? (it.EnvironmentSteps, it.Episodes, $"loss {it.Loss:F4} epsilon {it.Epsilon:F2}") : default,
        _ => default,
    };
    foreach (var episode in episodes)
    {
        recent.Enqueue(episode.Return);
        if (recent.Count > 20)
        {
            recent.Dequeue();
        }
    }

    double trainReturn = recent.Count == 0 ? double.NaN : recent.Average();
    double evalReturn = double.NaN;
    if (recent.Count == 20 && (trainReturn >= solvedAt || (iteration % 10 == 0 && trainReturn >= 200)))
    {
        evalReturn = Evaluation.Run(agent, () => new CartPole(), (int)evaluationEpisodes, seed: 1_000_000 + (iteration * 1000)).Average();
    }

    double seconds = clock.Elapsed.TotalSeconds;
    curve.Add((iteration, steps, seconds, trainReturn, evalReturn));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"iteration {iteration,4}  steps {steps,7}  return (last 20 episodes) {trainReturn,6:F1}  {detail}{(double.IsNaN(evalReturn) ? "" : $"  greedy over 100 episodes {evalReturn:F1}")}  {seconds,6:F1} s"));
    if (evalReturn >= solvedAt)
    {
        solvedSeconds = seconds;
        break;
    }
}

// 3. Report and the learning curve.
Console.WriteLine(solvedSeconds is double s
    ? string.Create(CultureInfo.InvariantCulture, $"solved CartPole-v1 with {agentName.ToUpperInvariant()} (seed {seed}) in {s:F1} s, {curve[^1].Steps} environment steps")
    : $"not solved within {maxSeconds} s");
LearningCurve.Write(curve, outDir, $"cartpole-{agentName}-seed{seed}", solvedAt);
return solvedSeconds is null ? 1 : 0;
