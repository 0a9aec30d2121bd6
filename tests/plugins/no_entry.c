/* no_entry: a shared object without llx_plugin_entry; the loader must refuse it
 * naming the path and the missing symbol. */
int llx_test_no_entry_marker(void);
int llx_test_no_entry_marker(void)
{
    return 42;
}
