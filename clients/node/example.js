'use strict';
// Sends Heap's flattening example event: node example.js [host:port]
const { HeapDestinationClient, fromStruct } = require('./client');

async function main() {
  const target = process.argv[2] || '127.0.0.1:50051';
  const client = new HeapDestinationClient(target, { appId: '1234567890' });
  try {
    const response = await client.track({
      event: 'Signed Up',
      user_id: 'user-42',
      properties: {
        foo: {
          bar: {
            cheese: 'american',
            prop: [1, 2, 3],
            products: [{ A: 'Jello' }, { B: 'Peanut' }],
          },
        },
      },
    });
    const printable = {
      ...response,
      properties: fromStruct(response.properties),
      user_properties: fromStruct(response.user_properties),
    };
    console.log(JSON.stringify(printable, null, 2));
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(`${error.code !== undefined ? `gRPC ${error.code}: ` : ''}${error.details || error.message}`);
  process.exitCode = 1;
});
