// Float32 steps that must give the same bits on every backend (the int8 contract of IQuantizedKernels), and the
// four-byte dot product of the int8 GEMM. On CUDA they are written as inline PTX through ILGPU's CudaAsm; elsewhere
// (ILGPU's CPU accelerator) as plain C#, which the .NET JIT never contracts or reorders.
//
// Why inline PTX. ILGPU 1.5.3 emits float32 add, sub and mul as add.f32 / sub.f32 / mul.f32, without a rounding
// modifier (Backends/PTX/PTXInstructions.Data.cs), and the PTX ISA lets ptxas contract such a mul followed by an add
// into one fma.rn.f32, which rounds once instead of twice. ILGPU has no setting that turns contraction off (its math
// modes only choose approximate / flush-to-zero forms), and the driver's CU_JIT_FMA option applies to LTO input only.
// An instruction with an explicit .rn modifier is never contracted, so every product that is followed by a sum is
// emitted as mul.rn.f32 and the sum as add.rn.f32. A product alone (Dequantize, the epilogue's acc * multiplier) has
// nothing to fuse with and stays plain C#. Division is already exact: ILGPU emits div.rn.f32 unless a context asks for
// its fast math mode (div.approx.ftz), which ours does not. CudaAsm.IsSupported becomes a constant in the PTX backend;
// the C# fallback is left behind a never-taken branch that ptxas removes (the tests read the PTX to check all this).
//
// Rounding. MathF.Round in a kernel is remapped by ILGPU.Algorithms to XMath.Round, which on PTX is a bit-exact
// software round-half-to-even (XMath.RoundingModes.RoundToEven); Round below uses the hardware cvt.rni.f32.f32 instead
// (IEEE roundToIntegralTiesToEven), one instruction. On the CPU accelerator both are .NET's MathF.Round (ties to even).
// Float to int conversion is (int)value: cvt.rzi.s32.f32 on PTX and a saturating truncation in .NET 9 and later,
// NaN to 0 on both.
//
// dp4a. ILGPU has no intrinsic for it (no match in its source or docs), but CudaAsm is its documented way to inline
// PTX (Samples/InlinePTXAssembly); dp4a.s32.u32 needs sm_61, so the backend picks Dp4a only where the device has it.
using ILGPU.Runtime.Cuda;

namespace Lepton.Kernels;

/// <summary>Float32 operations with one IEEE rounding each, never fused with a neighbour.</summary>
public static class StrictFloat
{
    /// <summary>a + b, rounded to nearest even, never contracted with the product that made an operand.</summary>
    public static float Add(float a, float b)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("add.rn.f32 %0, %1, %2;", out float sum, a, b);
            return sum;
        }

        return a + b;
    }

    /// <summary>a * b, rounded to nearest even, never contracted with the sum that follows.</summary>
    public static float Mul(float a, float b)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("mul.rn.f32 %0, %1, %2;", out float product, a, b);
            return product;
        }

        return a * b;
    }

    /// <summary>The integer nearest to <paramref name="value"/>, ties to even (as <see cref="MathF.Round(float)"/>).</summary>
    public static float Round(float value)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("cvt.rni.f32.f32 %0, %1;", out float rounded, value);
            return rounded;
        }

        return MathF.Round(value);
    }

    /// <summary>
    /// A value about to be rounded, offset by a zero point and clamped to uint8, first clamped to [-512, 512] (NaN stays
    /// NaN). Beyond that range the result is 0 or 255 whatever the zero point, so nothing changes, except that the int
    /// conversion and the zero point's addition can no longer overflow: results saturate as the CPU backend's do.
    /// </summary>
    public static float ClampRequantized(float value) => value < -512f ? -512f : value > 512f ? 512f : value;

    /// <summary>(int)value (saturating, NaN to 0) clamped to [low, high].</summary>
    public static int ToClamped(float value, int low, int high) => Clamp((int)value, low, high);

    /// <summary>value clamped to [low, high].</summary>
    public static int Clamp(int value, int low, int high) => value < low ? low : value > high ? high : value;
}

/// <summary>A four-way byte dot product accumulated in int32: c + sum over i of a.byte[i] (signed) * b.byte[i] (unsigned).</summary>
public interface IDot4
{
    /// <summary>c + sum of the four products of <paramref name="a"/>'s signed bytes and <paramref name="b"/>'s unsigned bytes.</summary>
    int Dot(int a, int b, int c);
}

/// <summary>The dot product in plain integer arithmetic, for devices without dp4a.</summary>
public struct SoftwareDot4 : IDot4
{
    /// <inheritdoc />
    public readonly int Dot(int a, int b, int c) => Software(a, b, c);

    /// <summary>What dp4a.s32.u32 computes, byte by byte (wrapping int32 sums, as the instruction).</summary>
    public static int Software(int a, int b, int c) =>
        c + ((sbyte)a * (b & 0xFF)) + ((sbyte)(a >> 8) * ((b >> 8) & 0xFF)) + ((sbyte)(a >> 16) * ((b >> 16) & 0xFF)) + ((a >> 24) * ((b >> 24) & 0xFF));
}

/// <summary>The dot product as one dp4a.s32.u32 instruction on CUDA (sm_61 and later), in software elsewhere.</summary>
public struct Dp4a : IDot4
{
    /// <inheritdoc />
    public readonly int Dot(int a, int b, int c)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("dp4a.s32.u32 %0, %1, %2, %3;", out int d, a, b, c);
            return d;
        }

        return SoftwareDot4.Software(a, b, c);
    }
}
