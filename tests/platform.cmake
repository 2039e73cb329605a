floe_add_test(mapped_file_test unit mapped_file_test.cc)
