// Plain JavaScript with `require`, as an older Node project would load the package.
const assert = require("node:assert/strict");
const { createCrmClient, crmQuerySerializer } = require("@foodbroker/crm-client");

const crm = createCrmClient({ baseUrl: "https://crm.example.com" });
assert.equal(typeof crm.items, "function");
assert.equal(crmQuerySerializer({ expand: ["customer", "principal"], type: ["a", "b"] }), "expand=customer,principal&type=a&type=b");
console.log("plain require: ok");
