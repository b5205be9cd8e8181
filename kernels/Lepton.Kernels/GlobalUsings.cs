global using ILGPU;
global using ILGPU.Runtime;
