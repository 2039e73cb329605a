// The CLI's shared flags (samples/floe: load_flags, session_flags, attention_flags) fill the
// runtime's option structs; floe longdoc runs on the public C API only, so it turns them into
// floe_model_params / floe_session_params here, field by field.
#pragma once

#include "floe/floe.h"
#include "load_flags.h"
#include "runtime/engine/session.h"

namespace floe::longdoc {

// tokenizer_path points into `f`, which must outlive the load.
floe_model_params ToModelParams(const cli::ModelFlags& f);
floe_session_params ToSessionParams(const SessionParams& s);

}  // namespace floe::longdoc
