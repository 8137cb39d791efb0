-- An exact order id: the answer on its own (the orders key's index finds it).
SELECT order_id FROM orders WHERE order_id = $key;
