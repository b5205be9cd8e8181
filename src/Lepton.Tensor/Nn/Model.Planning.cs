// The training plan a Sequential model's steps run through where one covers them: made on the first
// built step, kept while it fits, and replaced after two steps in a row that it does not fit.
using System.Reflection;
using Lepton.Autograd;

namespace Lepton.Nn;

public partial class Model
{
    private TrainingPlan? plan;
    private int planMisses;
    private bool planUnavailable;
    private bool? overridesTrainingLoss;

    /// <summary>Whether the last training step ran through a training plan.</summary>
    internal bool LastStepPlanned { get; private set; }

    /// <summary>Runs the step through this model's training plan where one covers it; null when it ran nothing.</summary>
    private TrainingPlan? PlannedStep(Tensor x, Tensor y, IReadOnlyList<Weight> trainable)
    {
        if (RunEagerly || !GradMode.IsEnabled || this is not Sequential sequential || !Built || OverridesTrainingLoss())
        {
            return null;
        }

        if (plan is not null && !plan.Fits(this, x, y, trainable))
        {
            // A batch of another shape (an epoch's last, shorter one) runs eagerly; a second in a row gets a plan.
            if (++planMisses < 2)
            {
                return null;
            }

            DropPlan();
        }

        if (plan is null)
        {
            if (planUnavailable)
            {
                return null;
            }

            plan = TrainingPlan.TryCreate(sequential, x, y, trainable);
            if (plan is null)
            {
                planUnavailable = true;
                return null;
            }
        }

        planMisses = 0;
        plan.Step(x, y);
        return plan;
    }

    /// <summary>Whether a subclass computes its own training loss, which a plan (built for the compiled loss) cannot run.</summary>
    private bool OverridesTrainingLoss()
    {
        overridesTrainingLoss ??= GetType().GetMethod(
            nameof(ComputeTrainingLoss), BindingFlags.Instance | BindingFlags.NonPublic, [typeof(Tensor), typeof(Tensor), typeof(Tensor)])!
            .DeclaringType != typeof(Model);
        return overridesTrainingLoss.Value;
    }

    /// <summary>Frees the training plan; the next step makes a new one if the model (as compiled now) allows it.</summary>
    private void DropPlan()
    {
        plan?.Dispose();
        plan = null;
        planMisses = 0;
        planUnavailable = false;
    }
}
