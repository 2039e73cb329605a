// The floe CLI's subcommands. Each returns the process exit code (0 = success).
#pragma once

namespace floe::cli {

int RunGenerate(int argc, char** argv);
int RunLogits(int argc, char** argv);
int RunConvert(int argc, char** argv);
int RunInspect(int argc, char** argv);
int RunCompare(int argc, char** argv);
int RunMakeModel(int argc, char** argv);
int RunQuantize(int argc, char** argv);
int RunBench(int argc, char** argv);
int RunEvalAttention(int argc, char** argv);

}  // namespace floe::cli
