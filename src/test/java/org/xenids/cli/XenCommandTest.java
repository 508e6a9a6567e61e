package org.xenids.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.xenids.xen.abi.XenAbi;

class XenCommandTest {

    @Test
    void layoutsPrintsEveryStructAndConstantAsJson() throws Exception {
        String[] r = MainTest.run("xen", "layouts");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals(XenAbi.structs().size(), j.get("structs").size());
        assertEquals(XenAbi.constants().size(), j.get("constants").size());
        JsonNode copy = j.get("structs").get("gnttab_copy");
        assertEquals(40, copy.get("size").asInt());
        assertEquals(36, copy.get("fields").get("status").asInt());
        assertEquals(8, j.get("structs").get("gnttab_map_grant_ref").get("fields").get("flags").asInt());
        assertEquals(20, j.get("constants").get("__HYPERVISOR_grant_table_op").asInt());
        assertEquals(-10, j.get("constants").get("GNTST_bad_copy_arg").asInt());
        assertEquals(0x7FF0, j.get("constants").get("DOMID_SELF").asInt());
    }
}
