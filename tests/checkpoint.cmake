# Checkpoint readers (ZIP, pickle, torch.save, safetensors, JSON) on ../shared/data/reference and
# on crafted hostile inputs.
floe_add_test(checkpoint_readers_test unit
  checkpoint_readers_test.cc
  checkpoint_json_test.cc
  checkpoint_torch_hostile_test.cc
  checkpoint_pickle_safetensors_test.cc
  checkpoint_zip_test.cc)
