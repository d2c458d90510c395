// title: Join keys between two products
// description: The join keys either product declares towards the other, in both directions:
//   which element of one references which element of the other, and how.
// param: product_a (string) id of one product
// param: product_b (string) id of the other product
// columns: from_product, from_element, to_product, to_element, kind
MATCH (a:Product)-[:HAS_JOIN_KEY]->(k:JoinKey)-[:FROM_ELEMENT]->(fe:DataElement),
      (k)-[:TO_ELEMENT]->(te:DataElement)<-[:HAS_ELEMENT]-(b:Product)
WHERE (a.id = $product_a AND b.id = $product_b) OR (a.id = $product_b AND b.id = $product_a)
RETURN a.id AS from_product, fe.name AS from_element, b.id AS to_product,
       te.name AS to_element, k.kind AS kind
ORDER BY from_product, from_element, to_product, to_element
